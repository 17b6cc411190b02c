/**
 * The end-to-end example: a 2-layer MLP learns to tell three interleaved spirals
 * apart, trained with plain SGD + momentum written out by hand (the optimizer
 * package comes later). Prints the loss falling and the final accuracy.
 *
 *   npm start            # or: npx tsx examples/mlp.ts [steps]
 */
import { crossEntropy, Generator, noGrad, randn, type Tensor, tensor, zeros } from '../index.ts';

const CLASSES = 3;
const PER_CLASS = 100;
const HIDDEN = 64;
const steps = Number(process.argv[2] ?? 300);
const rng = new Generator(7);

/** Three spiral arms in the plane, with a little noise; labels are the arm index. */
function spirals(): { x: Tensor; y: Tensor } {
  const points: number[][] = [];
  const labels: number[] = [];
  for (let c = 0; c < CLASSES; c++) {
    for (let i = 0; i < PER_CLASS; i++) {
      const r = i / PER_CLASS;
      const angle = (c * 2 * Math.PI) / CLASSES + r * 4 + rng.normal() * 0.2;
      points.push([r * Math.sin(angle), r * Math.cos(angle)]);
      labels.push(c);
    }
  }
  return { x: tensor(points), y: tensor(labels, { dtype: 'int32' }) };
}

/** Kaiming-style init: weights ~ N(0, 2/fan_in), so ReLU activations keep their scale. */
const layer = (fanIn: number, fanOut: number) => ({
  w: randn([fanIn, fanOut], { generator: rng })
    .mul(Math.sqrt(2 / fanIn))
    .setRequiresGrad(),
  b: zeros([fanOut]).setRequiresGrad(),
});

const { x, y } = spirals();
const l1 = layer(2, HIDDEN);
const l2 = layer(HIDDEN, CLASSES);
const params = [l1.w, l1.b, l2.w, l2.b];
const velocity = params.map((p) => p.zerosLike());

const forward = (input: Tensor) => input.matmul(l1.w).add(l1.b).relu().matmul(l2.w).add(l2.b);
const accuracy = () => noGrad(() => forward(x).argmax(1).eq(y).to('float32').mean().item());

const start = performance.now();
for (let step = 0; step <= steps; step++) {
  const loss = crossEntropy(forward(x), y);
  params.forEach((p) => p.zeroGrad());
  loss.backward();
  // SGD with momentum 0.9, lr 0.5, under noGrad so the update is not recorded.
  noGrad(() =>
    params.forEach((p, i) => {
      velocity[i]!.mul_(0.9).add_(p.grad as Tensor);
      p.add_(velocity[i]!, -0.5);
    }),
  );
  if (step % 25 === 0) console.log(`step ${String(step).padStart(4)}  loss ${loss.item().toFixed(4)}`);
}
console.log(
  `accuracy ${(accuracy() * 100).toFixed(1)}% on ${CLASSES * PER_CLASS} spiral points (chance ${(100 / CLASSES).toFixed(1)}%), ${((performance.now() - start) / 1000).toFixed(1)} s`,
);
