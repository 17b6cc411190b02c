/** Lion (examples/lion.ts), an optimizer the library does not ship, tested only through the public law kit. */
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { lion, type LionHyper } from '../../examples/lion.ts';
import { optimizerLaws } from '../kit/index.ts';

const beta = fc.constantFrom(0, 0.9, 0.99);
const hyper: fc.Arbitrary<LionHyper> = fc.record({
  lr: fc.double({ min: 1e-4, max: 1e-2, noNaN: true }),
  betas: fc.tuple(beta, beta),
  weightDecay: fc.constantFrom(0, 0.1),
});

describe.each(['float64', 'float32'] as const)('Lion in %s', (dtype) => {
  const laws = optimizerLaws(lion, { hyper, dtype, withoutDecay: (h) => ({ ...h, weightDecay: 0 }), scaleInvariant: {}, sparseMatchesDense: 'bitwise' });
  test.each(Object.entries(laws))('%s', (_, law) => fc.assert(law, { numRuns: 100 }));
});
