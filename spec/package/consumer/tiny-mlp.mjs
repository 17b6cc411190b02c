// A consumer of the installed package, in plain JavaScript: a two-layer MLP learns
// whether the coordinates of a point sum to a positive number. Run by the packaging
// tests in Node, in a worker_threads worker, and (bundled) in a browser page and a
// browser Worker. Returns the losses, so a test can check that they fall.
import { crossEntropy, Generator, randn } from 'sparsegrad';
import { Linear, Module } from 'sparsegrad/nn';
import { AdamW } from 'sparsegrad/optim';

class Mlp extends Module {
  constructor(generator) {
    super();
    this.hidden = new Linear(4, 16, { generator });
    this.out = new Linear(16, 2, { generator });
  }
  forward(x) {
    return this.out.forward(this.hidden.forward(x).relu());
  }
}

export function trainTinyMlp(steps = 60) {
  const generator = new Generator(0);
  const x = randn([64, 4], { generator });
  const y = x.sum(1).gt(0).to('int32');
  const model = new Mlp(generator);
  const optimizer = new AdamW(model.parameters(), { lr: 0.03 });
  const losses = [];
  for (let step = 0; step < steps; step++) {
    const loss = crossEntropy(model.forward(x), y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
  }
  return losses;
}
