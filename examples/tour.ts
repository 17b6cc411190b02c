// The README's API tour, kept runnable: spec/examples.spec.ts executes it.
import { crossEntropy, customVjp, Generator, grad, noGrad, randn, type Tensor, tensor, topK } from '../index.ts';

const g = new Generator(42); // seeded: same numbers on every engine
const x = randn([4, 3], { generator: g, requiresGrad: true });
const w = randn([3, 2], { generator: g, requiresGrad: true });
const hook = w.registerHook((gw) => topK(gw as Tensor, 2)); // hooks may replace a gradient: here by a sparse top-2
const loss = crossEntropy(x.matmul(w).relu(), tensor([0, 1, 1, 0], { dtype: 'int32' }));
loss.backward(); // x.grad is a Tensor, w.grad a SparseCoo
hook.remove();
const [gx] = grad(x.mul(x).sum(), [x]); // functional form: gradients as values, .grad untouched

const square = customVjp(
  'Square', // a layer with its own backward
  (a) => ({ output: a.mul(a), saved: a }),
  (gOut, a) => [gOut.mul(a).mul(2)],
);
const y = square(x).sum();
noGrad(() => x.add_(x.grad as Tensor, -0.1)); // in-place updates happen outside the graph
console.log(x.T.toString(), String(w.grad), String(gx), y.item()); // tensors print like PyTorch
