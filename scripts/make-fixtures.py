#!/usr/bin/python3
"""Independent float64 PyTorch reference fixtures for sparsegrad's BERT and LLaMa blocks.

Run with Debian's system interpreter (python3-torch 1.13.1 imports only there):

    apt-get install -y python3-torch
    /usr/bin/python3 scripts/make-fixtures.py            # writes spec/fixtures/
    /usr/bin/python3 scripts/make-fixtures.py --out DIR  # writes elsewhere (e.g. to diff)

Debian ships neither `transformers` nor `safetensors`, and torch 1.13 has no
`scaled_dot_product_attention`, so every block here is written from explicit formulas
that follow Hugging Face's modeling code line by line, then cross-checked against the
torch modules that do exist (`nn.TransformerEncoderLayer`, `nn.MultiheadAttention`,
`F.layer_norm`/`F.gelu`/`F.softmax`/`F.silu`), against a Meta-layout (interleaved) RoPE,
against MHA with repeated K/V, against hand-written backward passes, and with
`torch.autograd.gradcheck`. Every check is asserted and recorded in meta.json.

Conventions (also in meta.json and spec/fixtures/README.md):
  * Weights are drawn in float32 (stored F32, the engine loads identical values); all
    reference math is float64. Linear weights are [out, in] (HF / torch layout).
  * loss = sum(out * g) for a fixed g (`input.grad_output*`, drawn in float32);
    `grad.<key>` is d loss / d <key> in float64 for every weight and float input.
  * Determinism: fixed seeds (one torch.Generator per fixture), one thread,
    deterministic algorithms; safetensors and JSON are written byte by byte here, so
    re-runs on the same machine and packages are byte-identical.
"""

import argparse
import hashlib
import json
import math
import os
import struct
import sys

import numpy
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

F32, F64, I32 = torch.float32, torch.float64, torch.int32
GENERATOR = 'scripts/make-fixtures.py'
REGENERATE = 'apt-get install -y python3-torch && /usr/bin/python3 scripts/make-fixtures.py'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ============================================================================================
# safetensors, by hand (huggingface/safetensors: safetensors/src/tensor.rs)
#   u64 little-endian header length N; N bytes of compact JSON
#   {"__metadata__": {str: str, keys sorted}, name: {"dtype", "shape", "data_offsets": [begin, end]}}
#   space-padded to a multiple of 8; then the raw little-endian data. Tensors are ordered as
#   the reference writer orders them: by descending dtype in safetensors' `Dtype` enum order
#   (I64 > F64 > F32 > I32 > ...: descending element size, the enum breaking ties such as
#   F32/I32), then by name (code points). Offsets are relative to the start of the data
#   section; every tensor is aligned to its element size. models/safetensors.ts writes the
#   same bytes for the same tensors and metadata (spec/fixtures.spec.ts checks this).
# ============================================================================================

# torch dtype -> (safetensors name, element size, numpy dtype, rank in the reference's Dtype enum)
ST_DTYPES = {torch.int64: ('I64', 8, '<i8', 13), F64: ('F64', 8, '<f8', 12), F32: ('F32', 4, '<f4', 11), I32: ('I32', 4, '<i4', 9)}
NP_FROM_ST = {'F64': '<f8', 'F32': '<f4', 'I32': '<i4', 'I64': '<i8'}


def safetensors_bytes(tensors, metadata):
    items = sorted(tensors.items(), key=lambda kv: (-ST_DTYPES[kv[1].dtype][3], kv[0]))
    header = {'__metadata__': dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name, t in items:
        st, _, np_dtype, _ = ST_DTYPES[t.dtype]
        raw = numpy.ascontiguousarray(t.detach().cpu().numpy()).astype(np_dtype).tobytes()
        header[name] = {'dtype': st, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(',', ':')).encode('utf-8')
    head += b' ' * (-len(head) % 8)
    return struct.pack('<Q', len(head)) + head + b''.join(blobs)


def safetensors_parse(data):
    """Independent reader used to verify every file this script writes, bit for bit."""
    (n,) = struct.unpack('<Q', data[:8])
    assert n % 8 == 0, 'header not padded to 8'
    header = json.loads(data[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', None)
    body = data[8 + n:]
    out, end = {}, 0
    for name, info in header.items():
        b, e = info['data_offsets']
        assert b == end, 'gap or overlap in data'
        end = e
        arr = numpy.frombuffer(body[b:e], dtype=NP_FROM_ST[info['dtype']]).reshape(info['shape'])
        out[name] = torch.from_numpy(arr.copy())
    assert end == len(body), 'trailing bytes'
    return out, meta


# ============================================================================================
# Ops: two interchangeable sets. `Explicit` is the reference (formulas written out, used in
# float64); `TorchOps` is what HF's modules call (F.linear, F.layer_norm, ...), used for
# torch's own float32 run and cross-checked against `Explicit` in float64.
# ============================================================================================


class Explicit:
    @staticmethod
    def linear(x, w, b=None):
        y = x @ w.transpose(0, 1)
        return y if b is None else y + b

    @staticmethod
    def layer_norm(x, w, b, eps):
        # nn.LayerNorm: biased variance, eps inside the square root.
        mu = x.mean(-1, keepdim=True)
        xc = x - mu
        var = (xc * xc).mean(-1, keepdim=True)
        return xc / torch.sqrt(var + eps) * w + b

    @staticmethod
    def rms_norm(x, w, eps):
        # HF LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), then weight * (.)
        return w * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))

    @staticmethod
    def gelu(x):
        # HF BERT hidden_act "gelu" = exact erf GELU (not the tanh approximation).
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))

    @staticmethod
    def silu(x):
        return x * torch.sigmoid(x)

    @staticmethod
    def softmax(s):
        e = torch.exp(s - s.max(-1, keepdim=True).values)
        return e / e.sum(-1, keepdim=True)


class TorchOps:
    linear = staticmethod(F.linear)

    @staticmethod
    def layer_norm(x, w, b, eps):
        return F.layer_norm(x, (x.shape[-1],), w, b, eps)

    @staticmethod
    def rms_norm(x, w, eps):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    gelu = staticmethod(lambda x: F.gelu(x, approximate='none'))
    silu = staticmethod(F.silu)
    softmax = staticmethod(lambda s: F.softmax(s, dim=-1))


# ============================================================================================
# Shared pieces
# ============================================================================================


def split_heads(x, n):  # [B, S, n*d] -> [B, n, S, d]
    B, S, D = x.shape
    return x.view(B, S, n, D // n).permute(0, 2, 1, 3)


def merge_heads(x):  # [B, n, S, d] -> [B, S, n*d]
    B, n, S, d = x.shape
    return x.permute(0, 2, 1, 3).reshape(B, S, n * d)


def repeat_kv(x, n_rep):  # HF repeat_kv: query head h reads KV head h // n_rep
    B, nkv, S, d = x.shape
    return x[:, :, None].expand(B, nkv, n_rep, S, d).reshape(B, nkv * n_rep, S, d)


def attention_core(ops, q, k, v, mask_add, head_dim, dbg=None):
    # HF eager attention: (q k^T) / sqrt(head_dim) + additive mask, softmax, @ v.
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim) + mask_add
    probs = ops.softmax(scores)
    ctx = probs @ v
    if dbg is not None:
        dbg['scores'], dbg['probs'] = scores, probs
    return ctx


def padding_mask_add(mask, dtype):
    # HF get_extended_attention_mask: (1 - m)[:, None, None, :] * finfo(dtype).min, on KEYS only.
    m = mask.to(dtype)[:, None, None, :]
    return (1.0 - m) * torch.finfo(dtype).min


def causal_mask_add(S, dtype):
    # HF LLaMa causal mask: finfo(dtype).min above the diagonal, 0 elsewhere, added to scores.
    return torch.triu(torch.full((S, S), torch.finfo(dtype).min, dtype=dtype), diagonal=1)[None, None]


def inv_freq_f32(head_dim, theta):
    # Exactly HF LlamaRotaryEmbedding: 1.0 / (base ** (arange(0, dim, 2, int64).float() / dim)), float32.
    return 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))


def rope_tables(position_ids, head_dim, theta, mode):
    """cos, sin of shape [B, S, head_dim] (halves duplicated: cat(freqs, freqs)).

    mode 'f64' (the reference): inv_freq computed in float32 exactly as HF, cast to
      float64; angle = position (f64) * inv_freq (f64) (exact: <= 24+5 significant bits);
      cos/sin evaluated in float64.
    mode 'hf32' (what HF itself does, used for torch's float32 run): angle and cos/sin in
      float32 (HF then casts cos/sin to the activation dtype, so even an HF float64 model
      uses float32-rounded cos/sin; the difference is recorded in meta.json).
    """
    inv = inv_freq_f32(head_dim, theta)
    if mode == 'f64':
        freqs = position_ids.to(F64)[..., None] * inv.to(F64)
    else:
        freqs = (inv[None, :, None] @ position_ids[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):  # x [B, n, S, d]; cos, sin [B, S, d]
    return x * cos[:, None] + rotate_half(x) * sin[:, None]


# ============================================================================================
# BERT (HF BertLayer, BertEmbeddings, BertPooler, BertForSequenceClassification), eval mode
# ============================================================================================


def bert_layer(ops, p, pre, x, mask_add, cfg, dbg=None):
    nh, eps = cfg['num_attention_heads'], cfg['layer_norm_eps']
    hd = x.shape[-1] // nh
    L = lambda name, inp: ops.linear(inp, p[pre + name + '.weight'], p[pre + name + '.bias'])
    q = split_heads(L('attention.self.query', x), nh)
    k = split_heads(L('attention.self.key', x), nh)
    v = split_heads(L('attention.self.value', x), nh)
    ctx = merge_heads(attention_core(ops, q, k, v, mask_add, hd, dbg))
    attn_dense = L('attention.output.dense', ctx)
    attn_out = ops.layer_norm(attn_dense + x, p[pre + 'attention.output.LayerNorm.weight'],
                              p[pre + 'attention.output.LayerNorm.bias'], eps)  # post-LN
    pre_act = L('intermediate.dense', attn_out)
    act = ops.gelu(pre_act)
    ffn_out = L('output.dense', act)
    out = ops.layer_norm(ffn_out + attn_out, p[pre + 'output.LayerNorm.weight'], p[pre + 'output.LayerNorm.bias'], eps)
    if dbg is not None:
        dbg.update(q=q, k=k, v=v, context=ctx, attention_dense=attn_dense, attention_output=attn_out,
                   intermediate_pre_act=pre_act, intermediate=act, output_dense=ffn_out)
    return out


def bert_embeddings(ops, p, ids, token_type_ids, position_ids, cfg):
    # HF builds word_embeddings with padding_idx=pad_token_id: torch's embedding then gives the
    # pad row no gradient, so the explicit formula takes that row through .detach().
    word = p['bert.embeddings.word_embeddings.weight']
    pad = cfg['pad_token_id']
    word = torch.cat([word[:pad], word[pad:pad + 1].detach(), word[pad + 1:]])
    e = (word[ids.long()]
         + p['bert.embeddings.token_type_embeddings.weight'][token_type_ids.long()]
         + p['bert.embeddings.position_embeddings.weight'][position_ids.long()])
    return ops.layer_norm(e, p['bert.embeddings.LayerNorm.weight'], p['bert.embeddings.LayerNorm.bias'], cfg['layer_norm_eps'])


def bert_cls(ops, p, inp, cfg, dtype):
    mask_add = padding_mask_add(inp['input.attention_mask'], dtype)
    h = bert_embeddings(ops, p, inp['input.input_ids'], inp['input.token_type_ids'], inp['input.position_ids'], cfg)
    hidden = [h]
    for i in range(cfg['num_hidden_layers']):
        h = bert_layer(ops, p, f'bert.encoder.layer.{i}.', h, mask_add, cfg)
        hidden.append(h)
    pooled = torch.tanh(ops.linear(h[:, 0], p['bert.pooler.dense.weight'], p['bert.pooler.dense.bias']))
    logits = ops.linear(pooled, p['classifier.weight'], p['classifier.bias'])  # dropout: identity (eval)
    out = {'output.logits': logits, 'output.pooler_output': pooled, 'output.last_hidden_state': h}
    out.update({f'output.hidden_states.{i}': t for i, t in enumerate(hidden)})
    return out


# ============================================================================================
# LLaMa (HF LlamaDecoderLayer, LlamaModel, LlamaForCausalLM)
# ============================================================================================


def llama_layer(ops, p, pre, x, cos, sin, mask_add, cfg, dbg=None):
    nh, nkv, eps = cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['rms_norm_eps']
    hd = cfg['hidden_size'] // nh
    L = lambda name, inp: ops.linear(inp, p[pre + name + '.weight'])
    n1 = ops.rms_norm(x, p[pre + 'input_layernorm.weight'], eps)  # pre-norm
    q = split_heads(L('self_attn.q_proj', n1), nh)
    k = split_heads(L('self_attn.k_proj', n1), nkv)
    v = split_heads(L('self_attn.v_proj', n1), nkv)
    qr, kr = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    ctx = merge_heads(attention_core(ops, qr, repeat_kv(kr, nh // nkv), repeat_kv(v, nh // nkv), mask_add, hd, dbg))
    attn = L('self_attn.o_proj', ctx)
    h = x + attn
    n2 = ops.rms_norm(h, p[pre + 'post_attention_layernorm.weight'], eps)
    gate, up = L('mlp.gate_proj', n2), L('mlp.up_proj', n2)
    mh = ops.silu(gate) * up  # SwiGLU: down(silu(gate(x)) * up(x))
    mlp = L('mlp.down_proj', mh)
    out = h + mlp
    if dbg is not None:
        dbg.update(input_layernorm=n1, q=q, k=k, v=v, q_rope=qr, k_rope=kr, context=ctx, attention_output=attn,
                   residual=h, post_attention_layernorm=n2, gate=gate, up=up, mlp_hidden=mh, mlp_output=mlp)
    return out


def llama_causal_lm(ops, p, inp, cfg, dtype, rope_mode):
    ids, pos = inp['input.input_ids'], inp['input.position_ids']
    hd = cfg['hidden_size'] // cfg['num_attention_heads']
    cos, sin = rope_tables(pos, hd, cfg['rope_theta'], rope_mode)
    cos, sin = cos.to(dtype), sin.to(dtype)
    mask_add = causal_mask_add(ids.shape[1], dtype)
    h = p['model.embed_tokens.weight'][ids.long()]
    hidden = [h]
    for i in range(cfg['num_hidden_layers']):
        h = llama_layer(ops, p, f'model.layers.{i}.', h, cos, sin, mask_add, cfg)
        hidden.append(h)
    h = ops.rms_norm(h, p['model.norm.weight'], cfg['rms_norm_eps'])
    hidden[-1] = h  # HF: the last entry of hidden_states is the final-norm output
    head = p['model.embed_tokens.weight'] if cfg['tie_word_embeddings'] else p['lm_head.weight']
    logits = ops.linear(h, head)
    out = {'output.logits': logits, 'output.last_hidden_state': h}
    out.update({f'output.hidden_states.{i}': t for i, t in enumerate(hidden)})
    return out


# ============================================================================================
# Hand-written float64 backward passes (independent of autograd; compared with it)
# ============================================================================================


def acc(grads, key, g):
    grads[key] = grads[key] + g if key in grads else g


def linear_back(x, dy, p, name, grads):
    w = p[name + '.weight']
    acc(grads, name + '.weight', dy.reshape(-1, dy.shape[-1]).T @ x.reshape(-1, x.shape[-1]))
    if name + '.bias' in p:
        acc(grads, name + '.bias', dy.reshape(-1, dy.shape[-1]).sum(0))
    return dy @ w


def layer_norm_back(z, w, eps, dy):
    mu = z.mean(-1, keepdim=True)
    rstd = 1.0 / torch.sqrt(((z - mu) ** 2).mean(-1, keepdim=True) + eps)
    xh = (z - mu) * rstd
    dw = (dy * xh).reshape(-1, z.shape[-1]).sum(0)
    db = dy.reshape(-1, z.shape[-1]).sum(0)
    dxh = dy * w
    dz = rstd * (dxh - dxh.mean(-1, keepdim=True) - xh * (dxh * xh).mean(-1, keepdim=True))
    return dz, dw, db


def rms_norm_back(x, w, eps, dy):
    r = 1.0 / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)
    dw = (dy * x * r).reshape(-1, x.shape[-1]).sum(0)
    u = dy * w
    dx = r * u - x * r ** 3 * (u * x).mean(-1, keepdim=True)
    return dx, dw


def gelu_prime(u):
    return 0.5 * (1.0 + torch.erf(u / math.sqrt(2.0))) + u * torch.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)


def silu_prime(z):
    s = torch.sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def attention_core_back(q, k, v, probs, dctx, head_dim):
    dp = dctx @ v.transpose(-1, -2)
    dv = probs.transpose(-1, -2) @ dctx
    ds = probs * (dp - (dp * probs).sum(-1, keepdim=True))
    dq = ds @ k / math.sqrt(head_dim)
    dk = ds.transpose(-1, -2) @ q / math.sqrt(head_dim)
    return dq, dk, dv


def rotate_half_T(y):  # transpose of rotate_half: (y1, y2) -> (y2, -y1)
    y1, y2 = y[..., : y.shape[-1] // 2], y[..., y.shape[-1] // 2:]
    return torch.cat((y2, -y1), dim=-1)


def bert_layer_back(p, pre, x, mask_add, cfg, g, grads):
    dbg = {}
    bert_layer(Explicit, p, pre, x, mask_add, cfg, dbg)
    eps, nh = cfg['layer_norm_eps'], cfg['num_attention_heads']
    hd = x.shape[-1] // nh
    z2 = dbg['output_dense'] + dbg['attention_output']
    dz2, dw, db = layer_norm_back(z2, p[pre + 'output.LayerNorm.weight'], eps, g)
    acc(grads, pre + 'output.LayerNorm.weight', dw)
    acc(grads, pre + 'output.LayerNorm.bias', db)
    dact = linear_back(dbg['intermediate'], dz2, p, pre + 'output.dense', grads)
    dpre = dact * gelu_prime(dbg['intermediate_pre_act'])
    dattn_out = dz2 + linear_back(dbg['attention_output'], dpre, p, pre + 'intermediate.dense', grads)
    z1 = dbg['attention_dense'] + x
    dz1, dw, db = layer_norm_back(z1, p[pre + 'attention.output.LayerNorm.weight'], eps, dattn_out)
    acc(grads, pre + 'attention.output.LayerNorm.weight', dw)
    acc(grads, pre + 'attention.output.LayerNorm.bias', db)
    dctx = split_heads(linear_back(dbg['context'], dz1, p, pre + 'attention.output.dense', grads), nh)
    dq, dk, dv = attention_core_back(dbg['q'], dbg['k'], dbg['v'], dbg['probs'], dctx, hd)
    dx = dz1
    for name, d in (('query', dq), ('key', dk), ('value', dv)):
        dx = dx + linear_back(x, merge_heads(d), p, pre + 'attention.self.' + name, grads)
    return dx


def llama_layer_back(p, pre, x, cos, sin, mask_add, cfg, g, grads):
    dbg = {}
    llama_layer(Explicit, p, pre, x, cos, sin, mask_add, cfg, dbg)
    nh, nkv, eps = cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['rms_norm_eps']
    hd, rep = cfg['hidden_size'] // nh, nh // nkv
    dmh = linear_back(dbg['mlp_hidden'], g, p, pre + 'mlp.down_proj', grads)
    gate, up = dbg['gate'], dbg['up']
    dgate = dmh * up * silu_prime(gate)
    dup = dmh * Explicit.silu(gate)
    dn2 = (linear_back(dbg['post_attention_layernorm'], dgate, p, pre + 'mlp.gate_proj', grads)
           + linear_back(dbg['post_attention_layernorm'], dup, p, pre + 'mlp.up_proj', grads))
    dh, dw = rms_norm_back(dbg['residual'], p[pre + 'post_attention_layernorm.weight'], eps, dn2)
    acc(grads, pre + 'post_attention_layernorm.weight', dw)
    dh = dh + g
    dctx = split_heads(linear_back(dbg['context'], dh, p, pre + 'self_attn.o_proj', grads), nh)
    dqr, dkr, dv = attention_core_back(dbg['q_rope'], repeat_kv(dbg['k_rope'], rep), repeat_kv(dbg['v'], rep),
                                       dbg['probs'], dctx, hd)
    B, _, S, _ = dkr.shape
    dkr = dkr.view(B, nkv, rep, S, hd).sum(2)
    dv = dv.view(B, nkv, rep, S, hd).sum(2)
    dq = dqr * cos[:, None] + rotate_half_T(dqr * sin[:, None])
    dk = dkr * cos[:, None] + rotate_half_T(dkr * sin[:, None])
    n1 = dbg['input_layernorm']
    dn1 = (linear_back(n1, merge_heads(dq), p, pre + 'self_attn.q_proj', grads)
           + linear_back(n1, merge_heads(dk), p, pre + 'self_attn.k_proj', grads)
           + linear_back(n1, merge_heads(dv), p, pre + 'self_attn.v_proj', grads))
    dx, dw = rms_norm_back(x, p[pre + 'input_layernorm.weight'], eps, dn1)
    acc(grads, pre + 'input_layernorm.weight', dw)
    return dx + dh


def bert_cls_back(p, inp, cfg, gs):
    grads = {}
    out = bert_cls(Explicit, p, inp, cfg, F64)
    mask_add = padding_mask_add(inp['input.attention_mask'], F64)
    pooled, h = out['output.pooler_output'], out['output.last_hidden_state']
    dpooled = linear_back(pooled, gs['input.grad_output.logits'], p, 'classifier', grads)
    dpre = dpooled * (1.0 - pooled * pooled)
    dh = gs['input.grad_output.last_hidden_state'].clone()
    dh[:, 0] += linear_back(h[:, 0], dpre, p, 'bert.pooler.dense', grads)
    for i in reversed(range(cfg['num_hidden_layers'])):
        dh = bert_layer_back(p, f'bert.encoder.layer.{i}.', out[f'output.hidden_states.{i}'], mask_add, cfg, dh, grads)
    ids = {'word': inp['input.input_ids'], 'token_type': inp['input.token_type_ids'], 'position': inp['input.position_ids']}
    e = sum(p[f'bert.embeddings.{k}_embeddings.weight'][v.long()] for k, v in ids.items())
    de, dw, db = layer_norm_back(e, p['bert.embeddings.LayerNorm.weight'], cfg['layer_norm_eps'], dh)
    grads['bert.embeddings.LayerNorm.weight'], grads['bert.embeddings.LayerNorm.bias'] = dw, db
    for k, v in ids.items():
        key = f'bert.embeddings.{k}_embeddings.weight'
        grads[key] = torch.zeros_like(p[key]).index_add_(0, v.long().flatten(), de.reshape(-1, de.shape[-1]))
    grads['bert.embeddings.word_embeddings.weight'][cfg['pad_token_id']] = 0  # padding_idx: the pad row gets no gradient
    return grads


def llama_causal_lm_back(p, inp, cfg, gs):
    grads = {}
    out = llama_causal_lm(Explicit, p, inp, cfg, F64, 'f64')
    ids = inp['input.input_ids']
    hd = cfg['hidden_size'] // cfg['num_attention_heads']
    cos, sin = rope_tables(inp['input.position_ids'], hd, cfg['rope_theta'], 'f64')
    mask_add = causal_mask_add(ids.shape[1], F64)
    head = 'model.embed_tokens' if cfg['tie_word_embeddings'] else 'lm_head'
    dn = linear_back(out['output.last_hidden_state'], gs['input.grad_output.logits'], p, head, grads)
    # Recompute the pre-norm output of the last layer.
    n = cfg['num_hidden_layers']
    h_last = llama_layer(Explicit, p, f'model.layers.{n - 1}.', out[f'output.hidden_states.{n - 1}'], cos, sin, mask_add, cfg)
    dh, grads['model.norm.weight'] = rms_norm_back(h_last, p['model.norm.weight'], cfg['rms_norm_eps'], dn)
    for i in reversed(range(n)):
        dh = llama_layer_back(p, f'model.layers.{i}.', out[f'output.hidden_states.{i}'], cos, sin, mask_add, cfg, dh, grads)
    key = 'model.embed_tokens.weight'
    acc(grads, key, torch.zeros_like(p[key]).index_add_(0, ids.long().flatten(), dh.reshape(-1, dh.shape[-1])))
    return grads


# ============================================================================================
# Weights and inputs (drawn in float32 from a per-fixture generator; order is fixed)
# ============================================================================================


def randn(gen, shape, std=1.0, mean=0.0):
    return torch.randn(shape, generator=gen, dtype=F32) * std + mean


def bert_layer_weights(gen, pre, H, I):
    w = {}
    for name in ('query', 'key', 'value'):
        w[f'{pre}attention.self.{name}.weight'] = randn(gen, (H, H), H ** -0.5)
        w[f'{pre}attention.self.{name}.bias'] = randn(gen, (H,), 0.1)
    w[f'{pre}attention.output.dense.weight'] = randn(gen, (H, H), H ** -0.5)
    w[f'{pre}attention.output.dense.bias'] = randn(gen, (H,), 0.1)
    w[f'{pre}attention.output.LayerNorm.weight'] = randn(gen, (H,), 0.1, 1.0)
    w[f'{pre}attention.output.LayerNorm.bias'] = randn(gen, (H,), 0.1)
    w[f'{pre}intermediate.dense.weight'] = randn(gen, (I, H), H ** -0.5)
    w[f'{pre}intermediate.dense.bias'] = randn(gen, (I,), 0.1)
    w[f'{pre}output.dense.weight'] = randn(gen, (H, I), I ** -0.5)
    w[f'{pre}output.dense.bias'] = randn(gen, (H,), 0.1)
    w[f'{pre}output.LayerNorm.weight'] = randn(gen, (H,), 0.1, 1.0)
    w[f'{pre}output.LayerNorm.bias'] = randn(gen, (H,), 0.1)
    return w


def llama_layer_weights(gen, pre, H, nh, nkv, I):
    hd = H // nh
    return {
        f'{pre}self_attn.q_proj.weight': randn(gen, (nh * hd, H), H ** -0.5),
        f'{pre}self_attn.k_proj.weight': randn(gen, (nkv * hd, H), H ** -0.5),
        f'{pre}self_attn.v_proj.weight': randn(gen, (nkv * hd, H), H ** -0.5),
        f'{pre}self_attn.o_proj.weight': randn(gen, (H, nh * hd), (nh * hd) ** -0.5),
        f'{pre}mlp.gate_proj.weight': randn(gen, (I, H), H ** -0.5),
        f'{pre}mlp.up_proj.weight': randn(gen, (I, H), H ** -0.5),
        f'{pre}mlp.down_proj.weight': randn(gen, (H, I), I ** -0.5),
        f'{pre}input_layernorm.weight': randn(gen, (H,), 0.1, 1.0),
        f'{pre}post_attention_layernorm.weight': randn(gen, (H,), 0.1, 1.0),
    }


def bert_layer_config(H, nh, I):
    return {'hidden_size': H, 'num_attention_heads': nh, 'intermediate_size': I, 'hidden_act': 'gelu',
            'layer_norm_eps': 1e-12, 'hidden_dropout_prob': 0.0, 'attention_probs_dropout_prob': 0.0}


def llama_layer_config(H, nh, nkv, I):
    return {'hidden_size': H, 'num_attention_heads': nh, 'num_key_value_heads': nkv, 'head_dim': H // nh,
            'intermediate_size': I, 'hidden_act': 'silu', 'rms_norm_eps': 1e-6, 'rope_theta': 10000.0,
            'rope_scaling': None, 'attention_bias': False, 'mlp_bias': False, 'attention_dropout': 0.0}


def bert_full_config(V, H, nh, I, layers, max_pos, labels):
    return {
        'architectures': ['BertForSequenceClassification'], 'model_type': 'bert', 'vocab_size': V, 'hidden_size': H,
        'num_hidden_layers': layers, 'num_attention_heads': nh, 'intermediate_size': I, 'hidden_act': 'gelu',
        'hidden_dropout_prob': 0.0, 'attention_probs_dropout_prob': 0.0, 'max_position_embeddings': max_pos,
        'type_vocab_size': 2, 'initializer_range': 0.02, 'layer_norm_eps': 1e-12, 'pad_token_id': 0,
        'position_embedding_type': 'absolute', 'use_cache': True, 'classifier_dropout': None,
        'id2label': {str(i): f'LABEL_{i}' for i in range(labels)}, 'label2id': {f'LABEL_{i}': i for i in range(labels)},
        'problem_type': 'single_label_classification', 'torch_dtype': 'float32',
    }


def llama_full_config(V, H, nh, nkv, I, layers, max_pos, tied):
    return {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'vocab_size': V, 'hidden_size': H,
        'intermediate_size': I, 'num_hidden_layers': layers, 'num_attention_heads': nh, 'num_key_value_heads': nkv,
        'head_dim': H // nh, 'hidden_act': 'silu', 'max_position_embeddings': max_pos, 'initializer_range': 0.02,
        'rms_norm_eps': 1e-6, 'use_cache': True, 'pad_token_id': None, 'bos_token_id': 1, 'eos_token_id': 2,
        'pretraining_tp': 1, 'tie_word_embeddings': tied, 'rope_theta': 10000.0, 'rope_scaling': None,
        'attention_bias': False, 'attention_dropout': 0.0, 'mlp_bias': False, 'torch_dtype': 'float32',
    }


# ============================================================================================
# Helpers: autograd grads, error statistics, assertions
# ============================================================================================

CHECK_TOL = 1e-10  # every float64 cross-check must agree to this (absolute; values are O(1..10))


def to64(d):
    return {k: v.to(F64) if v.is_floating_point() else v for k, v in d.items()}


def autograd(fn, params, float_inputs, gs):
    """grads of loss = sum_k sum(out[k] * g[k]) w.r.t. params and float inputs (float64 in, float64 out)."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in {**params, **float_inputs}.items()}
    out = fn({k: leaves[k] for k in params}, {k: leaves[k] for k in float_inputs})
    loss = sum((out[k] * g).sum() for k, g in gs.items())
    keys = list(leaves)
    gr = torch.autograd.grad(loss, [leaves[k] for k in keys])
    return {k: v.detach() for k, v in out.items()}, dict(zip(keys, gr))


def max_abs(a, b):
    return float((a.to(F64) - b.to(F64)).abs().max())


def max_abs_dict(a, b):
    assert set(a) == set(b), (sorted(set(a) ^ set(b)))
    return max(max_abs(a[k], b[k]) for k in a)


def check(record, name, value, tol=CHECK_TOL):
    record[name] = value
    assert value <= tol, f'cross-check {name} failed: {value} > {tol}'


def err_stats(a32, r64):
    a, r = a32.to(F64), r64.to(F64)
    d = (a - r).abs()
    m = float(r.abs().max())
    return {'max_abs': float(d.max()), 'max_abs_over_max_ref': float(d.max()) / m,
            'max_t32_ratio': float((d / (1e-5 * m + 1e-4 * r.abs())).max())}


def grads_fp32_stats(g32, g64):
    """Per-tensor fp32-vs-fp64 error of the gradients. Tensors whose float64 gradient is zero in exact
    arithmetic (BERT's attention.self.key.bias: softmax is invariant to adding q.b_k to every score of a
    row) hold only rounding noise; they are listed apart and excluded from the relative statistics."""
    scale = max(float(v.abs().max()) for v in g64.values())
    zero = sorted(k for k, v in g64.items() if float(v.abs().max()) <= 1e-12 * scale)
    per = {k: err_stats(g32[k], g64[k]) for k in g64 if k not in zero}
    worst = max(per, key=lambda k: per[k]['max_t32_ratio'])
    out = {'worst_tensor': worst, **per[worst],
           'max_abs_over_max_ref_all': max(v['max_abs_over_max_ref'] for v in per.values())}
    if zero:
        out['zero_in_exact_arithmetic'] = {k: {'f64_max_abs': float(g64[k].abs().max()), 'fp32_max_abs': float(g32[k].abs().max()),
                                               'largest_grad_max_abs': scale} for k in zero}
    return out


def gradcheck(fn, tensors, fast):
    torch.manual_seed(0)  # fast mode draws its random directions from the global generator
    ok = torch.autograd.gradcheck(fn, tensors, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=fast)
    assert ok
    return {'passed': True, 'fast_mode': fast, 'eps': 1e-6, 'atol': 1e-5, 'rtol': 1e-3,
            'inputs': len(tensors), 'elements': sum(t.numel() for t in tensors)}


# ============================================================================================
# Cross-checks against torch modules and alternative layouts
# ============================================================================================


def check_bert_layer_vs_tel(p, pre, x, mask, g, cfg, ref_out, ref_grads, rec, tag=''):
    """HF BertLayer == nn.TransformerEncoderLayer(norm_first=False, gelu, batch_first) in float64."""
    H, nh, I = cfg['hidden_size'], cfg['num_attention_heads'], cfg['intermediate_size']
    tel = torch.nn.TransformerEncoderLayer(H, nh, I, dropout=0.0, activation='gelu', layer_norm_eps=cfg['layer_norm_eps'],
                                           batch_first=True, norm_first=False, dtype=F64)
    # Train mode + requires_grad keeps the slow (reference) path; dropout is 0.
    sa = pre + 'attention.self.'
    with torch.no_grad():
        tel.self_attn.in_proj_weight.copy_(torch.cat([p[sa + n + '.weight'] for n in ('query', 'key', 'value')]))
        tel.self_attn.in_proj_bias.copy_(torch.cat([p[sa + n + '.bias'] for n in ('query', 'key', 'value')]))
        pairs = {'self_attn.out_proj': 'attention.output.dense', 'norm1': 'attention.output.LayerNorm',
                 'linear1': 'intermediate.dense', 'linear2': 'output.dense', 'norm2': 'output.LayerNorm'}
        mods = dict(tel.named_modules())
        for m, h in pairs.items():
            mods[m].weight.copy_(p[pre + h + '.weight'])
            mods[m].bias.copy_(p[pre + h + '.bias'])
    xx = x.detach().clone().requires_grad_(True)
    out = tel(xx, src_key_padding_mask=(mask == 0))
    (out * g).sum().backward()
    check(rec, f'bert_layer{tag}_vs_TransformerEncoderLayer_output_max_abs', max_abs(out.detach(), ref_out))
    tg = {pre + h + '.' + s: getattr(mods[m], s).grad for m, h in pairs.items() for s in ('weight', 'bias')}
    for i, n in enumerate(('query', 'key', 'value')):
        tg[sa + n + '.weight'] = tel.self_attn.in_proj_weight.grad[i * H:(i + 1) * H]
        tg[sa + n + '.bias'] = tel.self_attn.in_proj_bias.grad[i * H:(i + 1) * H]
    diff = max(max_abs(tg[k], ref_grads[k]) for k in tg)
    diff = max(diff, max_abs(xx.grad, ref_grads['__x__']))
    check(rec, f'bert_layer{tag}_vs_TransformerEncoderLayer_grads_max_abs', diff)


def meta_permute_inverse(w, n_heads):
    """HF (rotate_half) rows -> Meta/llama2.c (interleaved) rows."""
    out, inp = w.shape
    return w.view(n_heads, 2, out // n_heads // 2, inp).transpose(1, 2).reshape(out, inp)


def hf_from_meta(w, n_heads):
    """docs/TESTING.md §7: W_hf = W_meta.view(nh, hd/2, 2, in).transpose(1, 2).reshape(out, in)."""
    out, inp = w.shape
    return w.view(n_heads, out // n_heads // 2, 2, inp).transpose(1, 2).reshape(out, inp)


def meta_rope(x, angles):
    """Meta llama apply_rotary_emb: pairs (2i, 2i+1) as complex numbers times e^{i*angle}. x [B, n, S, d]."""
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2).contiguous())
    freqs_cis = torch.polar(torch.ones_like(angles), angles)[:, None]  # [B, 1, S, d/2]
    return torch.view_as_real(xc * freqs_cis).flatten(3)


def check_llama_layer(p, pre, x, pos, cfg, ref_dbg, ref_out, rec, tag=''):
    H, nh, nkv = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads']
    hd, rep, S = H // nh, nh // nkv, x.shape[1]
    cos, sin = rope_tables(pos, hd, cfg['rope_theta'], 'f64')
    mask_add = causal_mask_add(S, F64)
    # 1. RoPE: HF rotate_half on HF rows == Meta interleaved (complex) RoPE on Meta-permuted rows.
    qn, kn = pre + 'self_attn.q_proj.weight', pre + 'self_attn.k_proj.weight'
    wq_meta, wk_meta = meta_permute_inverse(p[qn], nh), meta_permute_inverse(p[kn], nkv)
    assert torch.equal(hf_from_meta(wq_meta, nh), p[qn]) and torch.equal(hf_from_meta(wk_meta, nkv), p[kn])
    rec[f'llama_layer{tag}_TESTING_permutation_formula_bitwise'] = True
    angles = pos.to(F64)[..., None] * inv_freq_f32(hd, cfg['rope_theta']).to(F64)
    n1 = ref_dbg['input_layernorm']
    q_meta = meta_rope(split_heads(n1 @ wq_meta.T, nh), angles)
    k_meta = meta_rope(split_heads(n1 @ wk_meta.T, nkv), angles)
    unperm = lambda t: t.view(*t.shape[:-1], hd // 2, 2).transpose(-1, -2).reshape(t.shape)
    check(rec, f'llama_layer{tag}_rope_rotate_half_vs_meta_interleaved_q_max_abs', max_abs(unperm(q_meta), ref_dbg['q_rope']))
    check(rec, f'llama_layer{tag}_rope_rotate_half_vs_meta_interleaved_k_max_abs', max_abs(unperm(k_meta), ref_dbg['k_rope']))
    scores_meta = (q_meta @ repeat_kv(k_meta, rep).transpose(-1, -2)) / math.sqrt(hd) + mask_add
    check(rec, f'llama_layer{tag}_rope_meta_layout_scores_max_abs', max_abs(scores_meta, ref_dbg['scores']))
    # 2. GQA == MHA with K/V weights repeated per head (head h uses KV head h // rep).
    pm = dict(p)
    for n in ('k_proj', 'v_proj'):
        w = p[pre + f'self_attn.{n}.weight']
        pm[pre + f'self_attn.{n}.weight'] = w.view(nkv, hd, H).repeat_interleave(rep, 0).reshape(nh * hd, H)
    out_mha = llama_layer(Explicit, pm, pre, x, cos, sin, mask_add, {**cfg, 'num_key_value_heads': nh})
    check(rec, f'llama_layer{tag}_gqa_vs_mha_repeated_kv_weights_max_abs', max_abs(out_mha, ref_out))
    # 3. Attention core (causal, GQA) == torch.nn.MultiheadAttention on rotated q and repeated k, v.
    mha = torch.nn.MultiheadAttention(nh * hd, nh, bias=False, batch_first=True, dtype=F64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.eye(nh * hd, dtype=F64).repeat(3, 1))
        mha.out_proj.weight.copy_(p[pre + 'self_attn.o_proj.weight'])
        causal = torch.triu(torch.ones(S, S, dtype=torch.bool), diagonal=1)
        o, _ = mha(merge_heads(ref_dbg['q_rope']), merge_heads(repeat_kv(ref_dbg['k_rope'], rep)),
                   merge_heads(repeat_kv(ref_dbg['v'], rep)), attn_mask=causal, need_weights=False)
    check(rec, f'llama_layer{tag}_attention_vs_nn_MultiheadAttention_max_abs', max_abs(o, ref_dbg['attention_output']))


def record_rope_notes(pos, hd, theta, rec):
    """Informational (not asserted): how the float32 RoPE frequencies relate to exact and HF float32 values."""
    inv = inv_freq_f32(hd, theta)
    # Can an engine rebuild inv_freq bitwise as fround(1 / fround(theta ** (2i / d)))?
    e = numpy.arange(0, hd, 2, dtype=numpy.float64) / hd
    rebuilt = (1.0 / (theta ** e).astype(numpy.float32)).astype(numpy.float32)
    rec['inv_freq_equals_fround(1/fround(theta**(2i/d)))'] = bool(numpy.array_equal(rebuilt, inv.numpy()))
    exact = 1.0 / torch.pow(theta, torch.arange(0, hd, 2, dtype=F64) / hd)
    rec['inv_freq_f32_vs_exact_f64_max_rel'] = float(((inv.to(F64) - exact) / exact).abs().max())
    c64, s64 = rope_tables(pos, hd, theta, 'f64')
    c32, s32 = rope_tables(pos, hd, theta, 'hf32')
    rec['cos_sin_f64_reference_vs_hf_float32_tables_max_abs'] = max(max_abs(c32, c64), max_abs(s32, s64))


# ============================================================================================
# Fixture builders
# ============================================================================================

BERT_LAYER_CONVENTIONS = [
    'HF BertLayer in eval mode (dropout = identity), post-LN: out = LN2(FFN(a) + a), a = LN1(Attn(x) + x)',
    'LayerNorm: biased variance, eps = layer_norm_eps = 1e-12 inside the sqrt',
    'hidden_act "gelu" = erf GELU 0.5*x*(1+erf(x/sqrt(2))) (not tanh)',
    'attention: scores = (q k^T) / sqrt(head_dim) + mask_add; probs = softmax(scores); heads split as [B,S,nh,hd]',
    'padding: mask_add = (1 - attention_mask)[:, None, None, :] * finfo(float64).min, on KEYS only; '
    'padded query rows are computed and count in the loss (HF behaviour); fp32 run uses finfo(float32).min',
    'Linear weights [out, in]: y = x W^T + b',
    'grad of attention.self.key.bias is ZERO in exact arithmetic (q.b_k shifts a whole score row; softmax ignores it): '
    'the stored value is float64 rounding noise (~1e-15) and an engine gets its own noise; compare it with an absolute '
    'tolerance scaled by the largest gradient, not relative to its own max',
    'debug (layer 0): q, k, v [B, nh, S, hd] after bias; scores [B, nh, S, S] = qk^T/sqrt(hd) + mask_add; probs; context '
    '[B, S, H] merged heads; attention_dense = attention.output.dense(context) before the residual; attention_output = LN1 '
    'output; intermediate_pre_act = intermediate.dense output; intermediate = GELU of it; output_dense = output.dense '
    'before the residual',
]

LLAMA_LAYER_CONVENTIONS = [
    'HF LlamaDecoderLayer, pre-norm: h = x + o_proj(Attn(RMSNorm1(x))); out = h + down(silu(gate(n2)) * up(n2)), n2 = RMSNorm2(h)',
    'RMSNorm: w * (x / sqrt(mean(x^2) + eps)), eps = rms_norm_eps = 1e-6 (llama2.c uses 1e-5), no bias, no mean subtraction',
    'RoPE rotate_half (HF layout, halves): x*cos + rotate_half(x)*sin, rotate_half(x) = cat(-x[d/2:], x[:d/2]), cos/sin = cos/sin(cat(f, f))',
    'RoPE frequencies: inv_freq = 1 / (theta ** (arange(0, d, 2) / d)) computed in FLOAT32 exactly as HF (stored as debug.inv_freq), '
    'then cast to float64; angle = position_id * inv_freq in float64 (exact); cos/sin evaluated in float64. '
    'HF itself evaluates angle and cos/sin in float32 (used for the fp32 run); the difference is recorded under notes',
    'GQA: query head h attends with KV head h // (num_attention_heads / num_key_value_heads) (HF repeat_kv)',
    'attention: scores = (q k^T) / sqrt(head_dim) + causal_add; causal_add = finfo(float64).min above the diagonal '
    '(float32 run: finfo(float32).min); softmax; no bias in any projection',
    'Meta/llama2.c checkpoints interleave RoPE pairs: W_hf = W_meta.view(nh, hd/2, 2, in).transpose(1, 2).reshape(out, in) on q_proj/k_proj',
    'Linear weights [out, in]: y = x W^T',
    'debug (layer 0): input_layernorm; q [B, nh, S, hd], k, v [B, nkv, S, hd] before RoPE; q_rope, k_rope; scores '
    '[B, nh, S, S] = q_rope repeat_kv(k_rope)^T / sqrt(hd) + causal_add; probs; context [B, S, nh*hd] merged heads; '
    'attention_output = o_proj(context); residual = x + attention_output; post_attention_layernorm; gate; up; '
    'mlp_hidden = silu(gate) * up; mlp_output = down_proj(mlp_hidden); inv_freq F32 [hd/2]; cos, sin F64 [B, S, hd]',
]


def finish(name, tensors, rec):
    """Common part: key lists for meta.json."""
    groups = {'weights': [], 'inputs': [], 'outputs': [], 'grads': [], 'debug': [], 'fp32': []}
    prefix = {'input.': 'inputs', 'output.': 'outputs', 'grad.': 'grads', 'debug.': 'debug', 'fp32.': 'fp32'}
    for k in sorted(tensors):
        groups[next((g for p_, g in prefix.items() if k.startswith(p_)), 'weights')].append(k)
    for w in groups['weights']:
        assert 'grad.' + w in tensors, f'{name}: no grad for {w}'
    rec['tensors'] = groups
    return tensors


def build_bert_layer(name, seed, B, S, H, nh, I, pad, full_gradcheck):
    gen = torch.Generator().manual_seed(seed)
    cfg = bert_layer_config(H, nh, I)
    pre = 'bert.encoder.layer.0.'
    w = bert_layer_weights(gen, pre, H, I)
    x = randn(gen, (B, S, H))
    g = randn(gen, (B, S, H))
    mask = torch.ones(B, S, dtype=I32)
    mask[1, S - pad:] = 0
    rec = {'kind': 'bert-layer', 'config': cfg, 'batch': B, 'seq': S, 'padded': f'attention_mask[1, {S - pad}:] = 0',
           'loss': 'sum(output.hidden_states * input.grad_output)', 'conventions': BERT_LAYER_CONVENTIONS}
    cc = rec['cross_checks'] = {}
    p64, x64, g64 = to64(w), x.to(F64), g.to(F64)
    mask64 = padding_mask_add(mask, F64)
    dbg = {}
    out = bert_layer(Explicit, p64, pre, x64, mask64, cfg, dbg)
    fn = lambda p, i: {'out': bert_layer(Explicit, p, pre, i['x'], mask64, cfg)}
    _, grads = autograd(fn, p64, {'x': x64}, {'out': g64})
    # Cross-checks.
    check(cc, 'explicit_vs_torch_ops_f64_output_max_abs', max_abs(bert_layer(TorchOps, p64, pre, x64, mask64, cfg), out))
    manual = {}
    dx = bert_layer_back(p64, pre, x64, mask64, cfg, g64, manual)
    manual['x'] = dx
    check(cc, 'manual_backward_vs_autograd_max_abs', max_abs_dict(manual, grads))
    check_bert_layer_vs_tel(p64, pre, x64, mask, g64, cfg, out, {**grads, '__x__': grads['x']}, cc)
    keys = list(p64)
    gc = lambda xx, *ws: bert_layer(Explicit, dict(zip(keys, ws)), pre, xx, mask64, cfg)
    leaves = [x64.clone().requires_grad_(True)] + [p64[k].clone().requires_grad_(True) for k in keys]
    cc['gradcheck'] = gradcheck(gc, leaves, fast=not full_gradcheck)
    # torch's own float32 run (F.linear / F.layer_norm / F.gelu / F.softmax, finfo(float32).min mask).
    mask32 = padding_mask_add(mask, F32)
    fn32 = lambda p, i: {'out': bert_layer(TorchOps, p, pre, i['x'], mask32, cfg)}
    o32, gr32 = autograd(fn32, w, {'x': x}, {'out': g})
    rec['fp32_vs_fp64'] = {'output.hidden_states': err_stats(o32['out'], out), 'grads': grads_fp32_stats(gr32, grads)}
    tensors = dict(w)
    tensors.update({'input.hidden_states': x, 'input.attention_mask': mask, 'input.grad_output': g,
                    'output.hidden_states': out.detach(), 'fp32.output.hidden_states': o32['out'].detach()})
    tensors.update({'grad.' + k: v for k, v in grads.items() if k != 'x'})
    tensors['grad.input.hidden_states'] = grads['x']
    tensors.update({'debug.' + k: v.detach().contiguous() for k, v in dbg.items()})
    return finish(name, tensors, rec), rec


def build_llama_layer(name, seed, B, S, H, nh, nkv, I, full_gradcheck):
    gen = torch.Generator().manual_seed(seed)
    cfg = llama_layer_config(H, nh, nkv, I)
    pre = 'model.layers.0.'
    hd = H // nh
    w = llama_layer_weights(gen, pre, H, nh, nkv, I)
    x = randn(gen, (B, S, H))
    g = randn(gen, (B, S, H))
    pos = torch.arange(S, dtype=I32)[None].repeat(B, 1)
    rec = {'kind': 'llama-layer', 'config': cfg, 'batch': B, 'seq': S, 'positions': f'0..{S - 1} in every row', 'mask': 'causal',
           'loss': 'sum(output.hidden_states * input.grad_output)', 'conventions': LLAMA_LAYER_CONVENTIONS}
    cc = rec['cross_checks'] = {}
    p64, x64, g64 = to64(w), x.to(F64), g.to(F64)
    cos, sin = rope_tables(pos, hd, cfg['rope_theta'], 'f64')
    cmask = causal_mask_add(S, F64)
    dbg = {}
    out = llama_layer(Explicit, p64, pre, x64, cos, sin, cmask, cfg, dbg)
    fn = lambda p, i: {'out': llama_layer(Explicit, p, pre, i['x'], cos, sin, cmask, cfg)}
    _, grads = autograd(fn, p64, {'x': x64}, {'out': g64})
    check(cc, 'explicit_vs_torch_ops_f64_output_max_abs',
          max_abs(llama_layer(TorchOps, p64, pre, x64, cos, sin, cmask, cfg), out))
    manual = {}
    manual['x'] = llama_layer_back(p64, pre, x64, cos, sin, cmask, cfg, g64, manual)
    check(cc, 'manual_backward_vs_autograd_max_abs', max_abs_dict(manual, grads))
    check_llama_layer(p64, pre, x64, pos, cfg, dbg, out, cc)
    record_rope_notes(pos, hd, cfg['rope_theta'], rec.setdefault('notes', {}))
    keys = list(p64)
    gc = lambda xx, *ws: llama_layer(Explicit, dict(zip(keys, ws)), pre, xx, cos, sin, cmask, cfg)
    leaves = [x64.clone().requires_grad_(True)] + [p64[k].clone().requires_grad_(True) for k in keys]
    cc['gradcheck'] = gradcheck(gc, leaves, fast=not full_gradcheck)
    # torch's own float32 run, HF-exact: float32 cos/sin, finfo(float32).min causal mask.
    c32, s32 = rope_tables(pos, hd, cfg['rope_theta'], 'hf32')
    fn32 = lambda p, i: {'out': llama_layer(TorchOps, p, pre, i['x'], c32, s32, causal_mask_add(S, F32), cfg)}
    o32, gr32 = autograd(fn32, w, {'x': x}, {'out': g})
    rec['fp32_vs_fp64'] = {'output.hidden_states': err_stats(o32['out'], out), 'grads': grads_fp32_stats(gr32, grads)}
    tensors = dict(w)
    tensors.update({'input.hidden_states': x, 'input.position_ids': pos, 'input.grad_output': g,
                    'output.hidden_states': out.detach(), 'fp32.output.hidden_states': o32['out'].detach()})
    tensors.update({'grad.' + k: v for k, v in grads.items() if k != 'x'})
    tensors['grad.input.hidden_states'] = grads['x']
    tensors.update({'debug.' + k: v.detach().contiguous() for k, v in dbg.items()})
    tensors.update({'debug.inv_freq': inv_freq_f32(hd, cfg['rope_theta']), 'debug.cos': cos, 'debug.sin': sin})
    return finish(name, tensors, rec), rec


def build_bert_cls(name, seed):
    gen = torch.Generator().manual_seed(seed)
    V, H, nh, I, layers, max_pos, labels, B, S = 80, 32, 4, 128, 2, 16, 3, 2, 8
    cfg = bert_full_config(V, H, nh, I, layers, max_pos, labels)
    w = {'bert.embeddings.word_embeddings.weight': randn(gen, (V, H)),
         'bert.embeddings.position_embeddings.weight': randn(gen, (max_pos, H)),
         'bert.embeddings.token_type_embeddings.weight': randn(gen, (2, H)),
         'bert.embeddings.LayerNorm.weight': randn(gen, (H,), 0.1, 1.0),
         'bert.embeddings.LayerNorm.bias': randn(gen, (H,), 0.1)}
    for i in range(layers):
        w.update(bert_layer_weights(gen, f'bert.encoder.layer.{i}.', H, I))
    w.update({'bert.pooler.dense.weight': randn(gen, (H, H), H ** -0.5), 'bert.pooler.dense.bias': randn(gen, (H,), 0.1),
              'classifier.weight': randn(gen, (labels, H), H ** -0.5), 'classifier.bias': randn(gen, (labels,), 0.1)})
    ids = torch.randint(3, V, (B, S), generator=gen, dtype=torch.int64).to(I32)
    ids[:, 0] = 2  # a [CLS]-like first token
    mask = torch.ones(B, S, dtype=I32)
    mask[1, S - 2:] = 0
    ids[1, S - 2:] = 0  # pad_token_id
    tt = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 0, 0]], dtype=I32)
    pos = torch.arange(S, dtype=I32)[None].repeat(B, 1)
    gs = {'input.grad_output.logits': randn(gen, (B, labels)), 'input.grad_output.last_hidden_state': randn(gen, (B, S, H))}
    inp = {'input.input_ids': ids, 'input.attention_mask': mask, 'input.token_type_ids': tt, 'input.position_ids': pos}
    rec = {'kind': 'bert-cls', 'config_file': f'{name}.config.json', 'batch': B, 'seq': S,
           'padded': f'attention_mask[1, {S - 2}:] = 0 (input_ids there = pad_token_id 0)',
           'loss': 'sum(output.logits * input.grad_output.logits) + sum(output.last_hidden_state * input.grad_output.last_hidden_state)',
           'conventions': [c for c in BERT_LAYER_CONVENTIONS if not c.startswith('debug')] + [
               'embeddings: LayerNorm(word[input_ids] + token_type[token_type_ids] + position[position_ids]), eps 1e-12',
               'pooler_output = tanh(pooler.dense(last_hidden_state[:, 0])); logits = classifier(pooler_output) (dropout identity)',
               'output.hidden_states.i follows HF: 0 = embeddings output, i = output of layer i-1; last = last_hidden_state',
               'grad of each embedding table is dense [rows, hidden] (rows never indexed are exactly 0)']}
    cc = rec['cross_checks'] = {}
    p64, gs64 = to64(w), to64(gs)
    out = bert_cls(Explicit, p64, inp, cfg, F64)
    fn = lambda p, _: bert_cls(Explicit, p, inp, cfg, F64)
    gmap = {'output.logits': gs64['input.grad_output.logits'], 'output.last_hidden_state': gs64['input.grad_output.last_hidden_state']}
    _, grads = autograd(fn, p64, {}, gmap)
    check(cc, 'explicit_vs_torch_ops_f64_logits_max_abs', max_abs(bert_cls(TorchOps, p64, inp, cfg, F64)['output.logits'], out['output.logits']))
    check(cc, 'manual_backward_vs_autograd_max_abs', max_abs_dict(bert_cls_back(p64, inp, cfg, gs64), grads))
    mask_add = padding_mask_add(mask, F64)
    for i in range(layers):
        pre, hi = f'bert.encoder.layer.{i}.', out[f'output.hidden_states.{i}']
        gi = randn(torch.Generator().manual_seed(seed + 100 + i), hi.shape).to(F64)
        lfn = lambda p, xin: {'o': bert_layer(Explicit, p, pre, xin['x'], mask_add, cfg)}
        lp = {k: v for k, v in p64.items() if k.startswith(pre)}
        _, lg = autograd(lfn, lp, {'x': hi}, {'o': gi})
        check_bert_layer_vs_tel(p64, pre, hi, mask, gi, cfg, out[f'output.hidden_states.{i + 1}'], {**lg, '__x__': lg['x']}, cc, f'.{i}')
    keys = list(p64)
    gc = lambda *ws: bert_cls(Explicit, dict(zip(keys, ws)), inp, cfg, F64)['output.logits']
    cc['gradcheck'] = gradcheck(gc, [p64[k].clone().requires_grad_(True) for k in keys], fast=True)
    fn32 = lambda p, _: bert_cls(TorchOps, p, inp, cfg, F32)
    o32, gr32 = autograd(fn32, w, {}, {'output.logits': gs['input.grad_output.logits'],
                                      'output.last_hidden_state': gs['input.grad_output.last_hidden_state']})
    rec['fp32_vs_fp64'] = {k: err_stats(o32[k], out[k]) for k in ('output.logits', 'output.last_hidden_state')}
    rec['fp32_vs_fp64']['grads'] = grads_fp32_stats(gr32, grads)
    tensors = {**w, **inp, **gs}
    tensors.update({k: v.detach().contiguous() for k, v in out.items()})
    tensors.update({'fp32.' + k: o32[k].detach() for k in ('output.logits', 'output.last_hidden_state')})
    tensors.update({'grad.' + k: v for k, v in grads.items()})
    return finish(name, tensors, rec), rec, cfg


def build_llama_lm(name, seed, tied):
    gen = torch.Generator().manual_seed(seed)
    V, H, nh, nkv, I, layers, max_pos, B, S = 96, 32, 4, 2, 86, 2, 32, 2, 8
    cfg = llama_full_config(V, H, nh, nkv, I, layers, max_pos, tied)
    w = {'model.embed_tokens.weight': randn(gen, (V, H))}
    for i in range(layers):
        w.update(llama_layer_weights(gen, f'model.layers.{i}.', H, nh, nkv, I))
    w['model.norm.weight'] = randn(gen, (H,), 0.1, 1.0)
    if not tied:
        w['lm_head.weight'] = randn(gen, (V, H), H ** -0.5)
    ids = torch.randint(3, V, (B, S), generator=gen, dtype=torch.int64).to(I32)
    ids[:, 0] = 1  # bos
    pos = torch.stack([torch.arange(S), torch.arange(5, 5 + S)]).to(I32)  # row 1: offset positions 5..12
    gs = {'input.grad_output.logits': randn(gen, (B, S, V))}
    inp = {'input.input_ids': ids, 'input.position_ids': pos}
    rec = {'kind': 'llama-causal-lm', 'config_file': f'{name}.config.json', 'batch': B, 'seq': S,
           'positions': 'row 0: 0..7, row 1: 5..12 (offset positions; RoPE must read position_ids)', 'mask': 'causal, no padding',
           'tied': tied, 'loss': 'sum(output.logits * input.grad_output.logits)',
           'conventions': [c for c in LLAMA_LAYER_CONVENTIONS if not c.startswith('debug')] + [
               'hidden = embed_tokens[input_ids]; layers; last_hidden_state = model.norm (RMSNorm, eps 1e-6); logits = lm_head(last_hidden_state)',
               'tied (tie_word_embeddings true): lm_head.weight is absent and logits = last_hidden_state @ embed_tokens.weight^T; '
               'grad.model.embed_tokens.weight is the sum of the embedding and the head contributions',
               'output.hidden_states.i follows HF: 0 = embeddings, i = output of layer i-1, except the LAST entry, which is '
               'the final-norm output (= last_hidden_state)',
               'debug: inv_freq F32 [hd/2]; cos, sin F64 [B, S, hd] for the stored position_ids (per-layer debug: llama-layer)']}
    cc = rec['cross_checks'] = {}
    p64, gs64 = to64(w), to64(gs)
    out = llama_causal_lm(Explicit, p64, inp, cfg, F64, 'f64')
    fn = lambda p, _: llama_causal_lm(Explicit, p, inp, cfg, F64, 'f64')
    gmap = {'output.logits': gs64['input.grad_output.logits']}
    _, grads = autograd(fn, p64, {}, gmap)
    check(cc, 'explicit_vs_torch_ops_f64_logits_max_abs',
          max_abs(llama_causal_lm(TorchOps, p64, inp, cfg, F64, 'f64')['output.logits'], out['output.logits']))
    check(cc, 'manual_backward_vs_autograd_max_abs', max_abs_dict(llama_causal_lm_back(p64, inp, cfg, gs64), grads))
    hd = H // nh
    cos, sin = rope_tables(pos, hd, cfg['rope_theta'], 'f64')
    for i in range(layers):
        dbg = {}
        pre = f'model.layers.{i}.'
        lo = llama_layer(Explicit, p64, pre, out[f'output.hidden_states.{i}'], cos, sin, causal_mask_add(S, F64), cfg, dbg)
        check_llama_layer(p64, pre, out[f'output.hidden_states.{i}'], pos, cfg, dbg, lo, cc, f'.{i}')
    record_rope_notes(pos, hd, cfg['rope_theta'], rec.setdefault('notes', {}))
    keys = list(p64)
    gc = lambda *ws: llama_causal_lm(Explicit, dict(zip(keys, ws)), inp, cfg, F64, 'f64')['output.logits']
    cc['gradcheck'] = gradcheck(gc, [p64[k].clone().requires_grad_(True) for k in keys], fast=True)
    fn32 = lambda p, _: llama_causal_lm(TorchOps, p, inp, cfg, F32, 'hf32')
    o32, gr32 = autograd(fn32, w, {}, {'output.logits': gs['input.grad_output.logits']})
    rec['fp32_vs_fp64'] = {k: err_stats(o32[k], out[k]) for k in ('output.logits', 'output.last_hidden_state')}
    rec['fp32_vs_fp64']['grads'] = grads_fp32_stats(gr32, grads)
    tensors = {**w, **inp, **gs}
    tensors.update({k: v.detach().contiguous() for k, v in out.items()})
    tensors.update({'fp32.' + k: o32[k].detach() for k in ('output.logits', 'output.last_hidden_state')})
    tensors.update({'grad.' + k: v for k, v in grads.items()})
    tensors.update({'debug.inv_freq': inv_freq_f32(hd, cfg['rope_theta']), 'debug.cos': cos, 'debug.sin': sin})
    return finish(name, tensors, rec), rec, cfg


# ============================================================================================
# Writers
# ============================================================================================


def json_number(x):
    if isinstance(x, int):
        return str(x)
    assert math.isfinite(x), 'JSON twins hold finite values only'
    return repr(float(x))


def tiny_json_bytes(name, rec, tensors):
    order = sorted(tensors)
    lines = ['{', f'  "fixture": {json.dumps(name)},', f'  "generator": {json.dumps(GENERATOR)},',
             f'  "config": {json.dumps(rec["config"])},', f'  "loss": {json.dumps(rec["loss"])},',
             '  "note": "dtype is the safetensors dtype the value was stored as (F32 values are exact float32 numbers; '
             'F64 values are shortest round-trip decimals); data is row-major",',
             '  "tensors": {']
    for i, k in enumerate(order):
        t = tensors[k]
        st = ST_DTYPES[t.dtype][0]
        vals = t.flatten().tolist()
        data = ','.join(json_number(v) for v in vals)
        sep = ',' if i + 1 < len(order) else ''
        lines.append(f'    {json.dumps(k)}: {{"dtype": "{st}", "shape": {json.dumps(list(t.shape))}, "data": [{data}]}}{sep}')
    lines += ['  }', '}', '']
    return '\n'.join(lines).encode('utf-8')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(ROOT, 'spec', 'fixtures'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    files, fixtures = {}, {}

    def emit(filename, data):
        with open(os.path.join(args.out, filename), 'wb') as f:
            f.write(data)
        files[filename] = {'bytes': len(data), 'sha256': hashlib.sha256(data).hexdigest()}

    def emit_st(name, tensors, rec, config=None):
        meta = {'format': 'pt', 'fixture': name, 'generator': GENERATOR}
        if config is not None:
            meta['config'] = json.dumps(config, sort_keys=True)
        data = safetensors_bytes(tensors, meta)
        back, back_meta = safetensors_parse(data)
        assert back_meta == meta and set(back) == set(tensors)
        for k, t in tensors.items():
            assert torch.equal(back[k], t.detach().cpu()), f'{name}: round trip {k}'
        rec['file'] = f'{name}.safetensors'
        rec['cross_checks']['safetensors_round_trip_bitwise'] = True
        emit(rec['file'], data)
        fixtures[name] = rec

    def emit_config(name, cfg):
        emit(f'{name}.config.json', (json.dumps(cfg, indent=2) + '\n').encode('utf-8'))

    t, rec = build_bert_layer('bert-layer', 1001, B=2, S=8, H=64, nh=4, I=256, pad=2, full_gradcheck=False)
    emit_st('bert-layer', t, rec)
    t, rec = build_llama_layer('llama-layer', 2002, B=2, S=8, H=64, nh=4, nkv=2, I=172, full_gradcheck=False)
    emit_st('llama-layer', t, rec)

    for name, builder in (('bert-layer.tiny', lambda: build_bert_layer('bert-layer.tiny', 3003, B=2, S=3, H=8, nh=2, I=32, pad=1, full_gradcheck=True)),
                          ('llama-layer.tiny', lambda: build_llama_layer('llama-layer.tiny', 4004, B=2, S=3, H=8, nh=2, nkv=1, I=24, full_gradcheck=True))):
        t, rec = builder()
        emit(f'{name}.json', tiny_json_bytes(name, rec, t))
        rec['file'] = f'{name}.json'
        fixtures[name] = rec

    t, rec, cfg = build_bert_cls('bert-2layer-cls', 5005)
    emit_config('bert-2layer-cls', cfg)
    emit_st('bert-2layer-cls', t, rec, cfg)
    for name, seed, tied in (('llama-2layer', 6006, False), ('llama-2layer-tied', 7007, True)):
        t, rec, cfg = build_llama_lm(name, seed, tied)
        emit_config(name, cfg)
        emit_st(name, t, rec, cfg)

    meta = {
        'generator': GENERATOR,
        'regenerate': REGENERATE,
        'environment': {'torch': torch.__version__, 'numpy': numpy.__version__, 'threads': 1,
                        'deterministic_algorithms': True},
        'conventions': {
            'precision': 'weights, inputs and grad_outputs drawn in float32 and stored F32 (exact); every reference '
                         'computation in float64; outputs, grads and debug stored F64; fp32.* is torch running the '
                         'same HF code path in float32 (F.linear, F.layer_norm, F.gelu, F.softmax, F.silu)',
            'loss': 'sum over outputs of sum(output * grad_output) with the stored fixed grad_output; grad.<key> = '
                    'd loss / d <key> for every weight and for input.hidden_states (layer fixtures)',
            'naming': 'weights keep their HF names (keys without a reserved prefix); reserved prefixes: input., '
                      'output., grad., debug., fp32.',
            'layouts': 'Linear weights [out, in]; activations [batch, seq, hidden]; debug q/k/v/scores/probs are '
                       '[batch, heads, seq, head_dim|seq]; context/attention outputs are merged [batch, seq, hidden]',
            'integers': 'input_ids, attention_mask, token_type_ids, position_ids are I32',
            'safetensors': 'u64 LE header length N, N bytes compact JSON (__metadata__ first, string values, sorted '
                           'keys) space-padded to a multiple of 8; data ordered like the reference writer: descending '
                           'dtype in safetensors Dtype enum order (F64 > F32 > I32: descending size, enum breaks ties) '
                           'then name; every tensor aligned to its element size',
            'cross_check_tolerance': CHECK_TOL,
            'fp32_error_metric': 'max_abs_over_max_ref = max|a - r| / max|r|; max_t32_ratio = max |a - r| / '
                                 '(1e-5 max|r| + 1e-4 |r|) (T32 holds when <= 1)',
        },
        'fixtures': fixtures,
        'files': files,
    }
    data = (json.dumps(meta, indent=2) + '\n').encode('utf-8')
    with open(os.path.join(args.out, 'meta.json'), 'wb') as f:
        f.write(data)
    total = sum(v['bytes'] for v in files.values()) + len(data)
    print(f'wrote {len(files) + 1} files, {total} bytes, to {args.out}')
    assert total < 3_000_000, 'fixtures must stay under 3 MB'


if __name__ == '__main__':
    sys.exit(main())
