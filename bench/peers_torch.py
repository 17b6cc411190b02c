# The PyTorch side of bench/peers.ts: the same three workloads on the same inputs, which
# peers.ts writes as raw float32 files into the folder given as argv[1] (manifest.json
# lists name → shape). Prints one JSON object: per workload, ms per run (median), the loss
# and the gradient sums. Run by peers.ts with Debian's /usr/bin/python3 (python3-torch),
# OMP_NUM_THREADS / torch threads set by the caller, OMP_WAIT_POLICY=PASSIVE.
import json, os, resource, sys, time

import numpy as np
import torch

folder, threads, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
manifest = json.load(open(os.path.join(folder, 'manifest.json')))


def load(name):
    shape = manifest[name]
    return torch.from_numpy(np.fromfile(os.path.join(folder, name + '.bin'), dtype=np.float32).reshape(shape))


def median_ms(fn):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2]


def sums(grads):
    # Σ g and Σ |g| per gradient: the second bounds the rounding error of the first.
    return {k: [float(g.double().sum()), float(g.double().abs().sum())] for k, g in grads.items()}


out = {}

# W2 first, so that its peak RSS growth is its own.
x, w1, b1, w2, b2, gout = (load(n) for n in ['w2.x', 'w2.w1', 'w2.b1', 'w2.w2', 'w2.b2', 'w2.gout'])
leaves = {'x': x, 'w1': w1, 'b1': b1, 'w2': w2, 'b2': b2}
for t in leaves.values():
    t.requires_grad_(True)


def mlp_step():
    for t in leaves.values():
        t.grad = None
    h = torch.nn.functional.gelu(torch.nn.functional.linear(x, w1, b1))
    y = torch.nn.functional.linear(h, w2, b2)
    loss = (y * gout).sum()
    loss.backward()
    return loss


rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ms = median_ms(mlp_step)
loss = mlp_step()
out['W2'] = {'ms': ms, 'loss': float(loss), 'grads': sums({k: t.grad for k, t in leaves.items()}),
             'rssGrowthMB': (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024}

a, b = load('w1.a'), load('w1.b')
c = a @ b
out['W1'] = {'ms': median_ms(lambda: a @ b), 'loss': float(c.double().sum()), 'grads': {}}

# W3: post-LN encoder layer; q/k/v packed into in_proj as nn.MultiheadAttention stores them.
p = {n[len('w3.'):]: load(n) for n in manifest if n.startswith('w3.') and n != 'heads'}
hidden, heads, ffn = p['q.weight'].shape[0], int(manifest['heads'][0]), p['i.weight'].shape[0]
layer = torch.nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.0, activation='gelu', layer_norm_eps=1e-5, batch_first=True, norm_first=False)
with torch.no_grad():
    layer.self_attn.in_proj_weight.copy_(torch.cat([p['q.weight'], p['k.weight'], p['v.weight']]))
    layer.self_attn.in_proj_bias.copy_(torch.cat([p['q.bias'], p['k.bias'], p['v.bias']]))
    layer.self_attn.out_proj.weight.copy_(p['o.weight']); layer.self_attn.out_proj.bias.copy_(p['o.bias'])
    layer.norm1.weight.copy_(p['ln1.weight']); layer.norm1.bias.copy_(p['ln1.bias'])
    layer.linear1.weight.copy_(p['i.weight']); layer.linear1.bias.copy_(p['i.bias'])
    layer.linear2.weight.copy_(p['out.weight']); layer.linear2.bias.copy_(p['out.bias'])
    layer.norm2.weight.copy_(p['ln2.weight']); layer.norm2.bias.copy_(p['ln2.bias'])
layer.train()  # dropout is 0: training mode only keeps torch off its fused inference path
x3, g3 = p['x'].clone().requires_grad_(True), p['gout']


def layer_step():
    layer.zero_grad(set_to_none=True)
    x3.grad = None
    loss = (layer(x3) * g3).sum()
    loss.backward()
    return loss


ms = median_ms(layer_step)
loss = layer_step()
out['W3'] = {'ms': ms, 'loss': float(loss), 'grads': sums({'x': x3.grad, 'q.weight': layer.self_attn.in_proj_weight.grad[:hidden],
                                                          'i.weight': layer.linear1.weight.grad, 'ln2.weight': layer.norm2.weight.grad})}
print(json.dumps(out))
