/**
 * Whole blocks on gpu.js (headlessgl, llvmpipe under xvfb): a BERT layer (embedding,
 * attention with a padding mask, GELU MLP, post-LN LayerNorm) and a LLaMa layer (RMSNorm,
 * RoPE, causal GQA attention, SwiGLU) run forward and backward on the gpujs backend, and
 * the output and every gradient match the CPU path run in float64 within T32. Also:
 * gradchecks of composite ops with the VJPs on gpu.js, data staying on the device, and
 * texture counts returning to their start (no leaks).
 *
 * Without GL these skip with one line (REQUIRE_GL=1 makes that a failure).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy, Generator, grad, logsumexp, randn, Tensor, tensor, withBackend } from '../../index.ts';
import { layerNorm, rmsNorm } from '../../core/ops/nn.ts';
import { isOnDevice, type GpujsBackend } from '../../kernels/gpujs/index.ts';
import { Module, MultiHeadAttention, Parameter, RMSNorm, SwiGLU } from '../../nn/index.ts';
import { BertLayer, bertCase, HIDDEN } from './bert-layer.ts';
import { gradcheck } from '../kit/gradcheck.ts';
import { compare, T32 } from '../kit/close.ts';
import { collectGarbage, glAvailableTest, loadGl } from './harness.ts';

const TIMEOUT = 600_000;

class LlamaLayer extends Module {
  inputNorm: RMSNorm;
  attention: MultiHeadAttention;
  postNorm: RMSNorm;
  mlp: SwiGLU;
  constructor(seed: number) {
    super();
    const generator = new Generator(seed);
    this.inputNorm = new RMSNorm(HIDDEN, { eps: 1e-6 });
    this.attention = new MultiHeadAttention({ hidden: HIDDEN, numHeads: 4, numKvHeads: 2, bias: false, rope: { theta: 10000 }, causal: true, generator });
    this.postNorm = new RMSNorm(HIDDEN, { eps: 1e-6 });
    this.mlp = new SwiGLU(HIDDEN, 43, { generator });
  }
  forward(x: Tensor): Tensor {
    const h = x.add(this.attention.forward(this.inputNorm.forward(x)));
    return h.add(this.mlp.forward(this.postNorm.forward(h)));
  }
}

/** The same module with float64 parameters (the CPU reference path). */
function toFloat64<M extends Module>(m: M): M {
  for (const [path, p] of m.namedParameters()) {
    const dot = path.lastIndexOf('.');
    const owner = dot < 0 ? m : m.getSubmodule(path.slice(0, dot));
    (owner as unknown as Record<string, Tensor>)[path.slice(dot + 1)] = new Parameter(p.detach().double());
  }
  return m;
}

/** Run `step` (forward + backward of Σ y ⊙ gOut) and collect y and every gradient. */
function run(model: Module, inputs: Tensor[], forward: (...xs: Tensor[]) => Tensor, gOut: Tensor): Map<string, Float64Array> {
  model.zeroGrad();
  const y = forward(...inputs);
  y.mul(gOut).sum().backward();
  const out = new Map<string, Float64Array>([['output', Float64Array.from(y.toTypedArray())]]);
  inputs.forEach((x, i) => x.requiresGrad && out.set(`input ${i}`, Float64Array.from((x.grad as Tensor).toTypedArray())));
  for (const [name, p] of model.namedParameters()) out.set(name, Float64Array.from((p.grad as Tensor).toTypedArray()));
  return out;
}

function expectClose(actual: Map<string, Float64Array>, expected: Map<string, Float64Array>, label: string): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, e] of expected) {
    // The key bias cancels out of softmax: its gradient is 0 up to rounding, checked absolutely (docs/TESTING.md §4).
    const tol = name.endsWith('key.bias') ? { name: 'absolute 1e-6', atol: 1e-6, rtol: 0 } : T32;
    const { ok, message } = compare(actual.get(name)!, e, tol, { label: `${label}: ${name}` });
    expect(ok, message).toBe(true);
  }
}

describe('gpu.js headlessgl: BERT and LLaMa layers, gradchecks, residency, leaks', () => {
  let gpu: GpujsBackend | null = null;
  beforeAll(async () => {
    gpu = await loadGl('layers');
  }, TIMEOUT);
  it('headlessgl is available (required when REQUIRE_GL=1)', ({ skip }) => glAvailableTest(gpu, skip));
  const onGpu = <T>(fn: () => T): T => withBackend('gpujs', fn, { mode: 'headlessgl' });

  it(
    'a BERT layer forward + backward equals the CPU path (float64) within T32',
    ({ skip }) => {
      if (!gpu) return skip();
      const { ids, x, mask, gOut } = bertCase();
      const m32 = new BertLayer(1);
      const got = onGpu(() => run(m32, [ids, x, mask], (a, b, c) => m32.forward(a!, b!, c!), gOut));
      const m64 = toFloat64(new BertLayer(1));
      const x64 = x.detach().double().setRequiresGrad();
      const want = withBackend('cpu', () => run(m64, [ids, x64, mask], (a, b, c) => m64.forward(a!, b!, c!), gOut.double()));
      expectClose(got, want, 'BERT layer');
    },
    TIMEOUT,
  );

  it(
    'a LLaMa layer forward + backward equals the CPU path (float64) within T32',
    ({ skip }) => {
      if (!gpu) return skip();
      const g = new Generator(11);
      const x = randn([2, 7, HIDDEN], { generator: g }).setRequiresGrad();
      const gOut = randn([2, 7, HIDDEN], { generator: g });
      const m32 = new LlamaLayer(3);
      const got = onGpu(() => run(m32, [x], (a) => m32.forward(a!), gOut));
      const m64 = toFloat64(new LlamaLayer(3));
      const want = withBackend('cpu', () => run(m64, [x.detach().double().setRequiresGrad()], (a) => m64.forward(a!), gOut.double()));
      expectClose(got, want, 'LLaMa layer');
    },
    TIMEOUT,
  );

  it(
    'data stays on the device between ops; transfers happen only at the documented points',
    ({ skip }) => {
      if (!gpu) return skip();
      const { ids, x, mask, gOut } = bertCase();
      const m = new BertLayer(1);
      onGpu(() => m.forward(ids, x, mask)); // compile
      const before = gpu.stats();
      const y = onGpu(() => m.forward(ids, x, mask));
      const forward = gpu.stats();
      expect(isOnDevice(y)).toBe(true);
      // Forward: nothing. indexSelect range-checks the ids on the host before it broadcasts them
      // (they were made there; until 8499f5c it checked the broadcast copy, made on the device,
      // which cost one download), and each LayerNorm's x̂ and 1/σ are outputs the backend
      // allocated: they stay on the device.
      expect(forward.downloads - before.downloads).toBe(0);
      onGpu(() => y.mul(gOut).sum().backward());
      const backward = gpu.stats();
      // Backward: the norms' VJP is tensor ops on device-resident x̂ and 1/σ, so nothing of
      // theirs downloads (4 downloads when core/ops/nn.ts read each x̂ as an array, 2 now).
      expect(backward.downloads - forward.downloads).toBeLessThanOrEqual(2);
      expect(isOnDevice(m.attention.parameters()[0]!.grad as Tensor)).toBe(true);
      y.toTypedArray();
      expect(isOnDevice(y)).toBe(false);
    },
    TIMEOUT,
  );

  it(
    'texture counts return to their start (no leaks)',
    async ({ skip }) => {
      if (!gpu) return skip();
      const step = () => {
        const { ids, x, mask, gOut } = bertCase();
        const m = new BertLayer(2);
        onGpu(() => m.forward(ids, x, mask).mul(gOut).sum().backward());
        const l = new LlamaLayer(4);
        onGpu(() => l.forward(x.detach()).sum().backward());
      };
      step(); // compile every kernel once
      await collectGarbage();
      const start = gpu.stats();
      step();
      step();
      await collectGarbage();
      const end = gpu.stats();
      expect(end.kernels).toBe(start.kernels);
      expect(end.textures).toBe(start.textures);
      expect(end.glTextures).toBe(start.glTextures);
    },
    TIMEOUT,
  );

  /**
   * Gradchecks with the VJPs on gpu.js: the analytic Jacobian is computed on gpujs in
   * float32 (one VJP per output element), the numeric one by central differences in
   * float64 on the CPU (the kit's gradcheck, which also checks the CPU path), and the two
   * agree within T32.
   */
  const composites: [string, (...xs: Tensor[]) => Tensor, number[][]][] = [
    ['layerNorm with affine', (x, w, b) => layerNorm(x!, [4], w, b), [[3, 4], [4], [4]]],
    ['rmsNorm', (x, w) => rmsNorm(x!, w), [[2, 5], [5]]],
    [
      'softmax(x·Wᵀ)·V (attention core)',
      (q, k, v) => q!.matmul(k!.transpose()).mul(0.5).softmax(-1).matmul(v!),
      [
        [3, 4],
        [5, 4],
        [5, 2],
      ],
    ],
    [
      'GELU MLP',
      (x, w1, w2) => x!.matmul(w1!.T).gelu().matmul(w2!.T),
      [
        [2, 3],
        [5, 3],
        [2, 5],
      ],
    ],
    [
      'SwiGLU',
      (x, a, b) => x!.matmul(a!.T).silu().mul(x!.matmul(b!.T)),
      [
        [2, 3],
        [4, 3],
        [4, 3],
      ],
    ],
    ['logsumexp and var', (x) => logsumexp(x!, 1).add(x!.var(0).sum()), [[3, 4]]],
    ['crossEntropy', (x) => crossEntropy(x!, tensor([1, 0, 3], { dtype: 'int32' })), [[3, 4]]],
    ['tanh, sigmoid, max, where', (x, y) => x!.tanh().mul(y!.sigmoid()).maximum(x!.mul(0.3)), [[2, 3], [3]]],
  ];
  for (const [name, fn, shapes] of composites)
    it(
      `gradcheck on gpu.js: ${name}`,
      ({ skip }) => {
        if (!gpu) return skip();
        const g = new Generator(shapes.length * 31 + shapes[0]!.length);
        const inputs64 = shapes.map((s) => randn(s, { generator: g, dtype: 'float64' }));
        const { numericJacobian } = withBackend('cpu', () => gradcheck(fn, inputs64));
        const inputs32 = inputs64.map((t) => t.float().setRequiresGrad());
        const y = onGpu(() => fn(...inputs32));
        const rows = y.numel;
        const analytic = inputs32.map((t) => new Float64Array(rows * t.numel));
        for (let r = 0; r < rows; r++) {
          const oneHot = new Float32Array(rows);
          oneHot[r] = 1;
          const grads = onGpu(() => grad(y, inputs32, { gradOutputs: [Tensor.fromStorage(oneHot, y.shape)], retainGraph: true }));
          grads.forEach((gi, j) => analytic[j]!.set((gi as Tensor).toTypedArray(), r * inputs32[j]!.numel));
        }
        numericJacobian.forEach((numeric, j) => {
          const { ok, message } = compare(analytic[j]!, numeric!.toTypedArray(), T32, { label: `Jacobian wrt input ${j}` });
          expect(ok, message).toBe(true);
        });
      },
      TIMEOUT,
    );
});
