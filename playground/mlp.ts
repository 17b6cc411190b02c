/**
 * A tiny MLP trained live: two interleaved half-moons in the plane, a 2 → 16 → 16 → 2
 * network (Linear, tanh, Linear, tanh, Linear), cross-entropy, Adam — the same pieces a
 * BERT fine-tune uses, small enough that a step takes well under a millisecond. Everything
 * is seeded, so the page and a test in Node train the same model to the same losses.
 */
import { crossEntropy, Generator, noGrad, tensor, type Tensor } from '../index.ts';
import { Linear, Module } from '../nn/index.ts';
import { Adam } from '../optim/index.ts';

/** Two half-moons with a little noise (scikit-learn's make_moons), labels 0 and 1. */
export function moons(count: number, generator: Generator, noise = 0.12): { points: [number, number][]; labels: number[] } {
  const points: [number, number][] = [];
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    const angle = Math.PI * generator.uniform();
    const [x, y] = label === 0 ? [Math.cos(angle), Math.sin(angle)] : [1 - Math.cos(angle), 0.5 - Math.sin(angle)];
    points.push([x + noise * generator.normal(), y + noise * generator.normal()]);
    labels.push(label);
  }
  return { points, labels };
}

export class Mlp extends Module {
  l1: Linear;
  l2: Linear;
  l3: Linear;
  constructor(hidden: number, generator: Generator) {
    super();
    this.l1 = new Linear(2, hidden, { generator });
    this.l2 = new Linear(hidden, hidden, { generator });
    this.l3 = new Linear(hidden, 2, { generator });
  }
  forward(x: Tensor): Tensor {
    return this.l3.forward(this.l2.forward(this.l1.forward(x).tanh()).tanh());
  }
}

export interface TrainerOptions {
  seed?: number;
  points?: number;
  hidden?: number;
  lr?: number;
}

/**
 * Owns the data, the model and the optimizer; `step()` is one full-batch update and
 * returns the loss before it. The page calls it a few times per animation frame.
 */
export class Trainer {
  readonly points: [number, number][];
  readonly labels: number[];
  readonly losses: number[] = [];
  private readonly x: Tensor;
  private readonly y: Tensor;
  private readonly model: Mlp;
  private readonly optimizer: InstanceType<typeof Adam>;

  constructor(options: TrainerOptions = {}) {
    const generator = new Generator(options.seed ?? 1);
    ({ points: this.points, labels: this.labels } = moons(options.points ?? 200, generator));
    this.x = tensor(this.points);
    this.y = tensor(this.labels, { dtype: 'int32' });
    this.model = new Mlp(options.hidden ?? 16, generator);
    this.optimizer = new Adam(this.model.parameters(), { lr: options.lr ?? 0.03 });
  }

  step(): number {
    const loss = crossEntropy(this.model.forward(this.x), this.y);
    this.optimizer.zeroGrad();
    loss.backward();
    this.optimizer.step();
    const value = loss.item();
    this.losses.push(value);
    return value;
  }

  /** Share of the training points classified right. */
  accuracy(): number {
    return noGrad(() => this.model.forward(this.x).argmax(1).eq(this.y).to('float32').mean().item());
  }

  /** P(class 1) on a res×res grid over [lo, hi]², row-major from the top-left: the decision map. */
  grid(res: number, lo: readonly [number, number], hi: readonly [number, number]): Float32Array {
    const cells: [number, number][] = [];
    for (let r = 0; r < res; r++) {
      for (let c = 0; c < res; c++) cells.push([lo[0] + ((c + 0.5) * (hi[0] - lo[0])) / res, hi[1] - ((r + 0.5) * (hi[1] - lo[1])) / res]);
    }
    return noGrad(() => this.model.forward(tensor(cells)).softmax(1).slice(1, 1, 2).toTypedArray() as Float32Array);
  }
}
