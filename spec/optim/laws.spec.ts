/**
 * The public optimizer law kit (spec/kit/optimizer-laws.ts) over every shipped rule, in
 * float64 and float32. Where the rules share one op order the kit is told so, and checks
 * bitwise: SparseAdam over every index is `adamWHf` at wd = 0; the Adam family is exactly
 * invariant to power-of-two gradient scales at ε = 0.
 */
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { adam, adamW, adamWHf, sgd, sparseAdam, type AdamHyper, type AnyRule, type Hyper, type SgdHyper, type SparseAdamHyper } from '../../optim/index.ts';
import { optimizerLaws, type OptimizerLawOptions } from '../kit/index.ts';

const lr = fc.double({ min: 1e-4, max: 1e-2, noNaN: true });
const betas = fc.tuple(fc.constantFrom(0, 0.5, 0.9), fc.constantFrom(0.9, 0.999));
const eps = fc.constantFrom(1e-8, 1e-3);
const adamHyper = (weightDecay: fc.Arbitrary<number>): fc.Arbitrary<AdamHyper> => fc.record({ lr, betas, eps, weightDecay });
const noDecay = <H extends Hyper>(h: H): H => ({ ...h, weightDecay: 0 });

const sgdHyper: fc.Arbitrary<SgdHyper> = fc
  .record({ lr, momentum: fc.constantFrom(0, 0.5, 0.9), dampening: fc.constantFrom(0, 0.1), nesterov: fc.boolean(), weightDecay: fc.constantFrom(0, 0.01) })
  .map((h) => ({ ...h, nesterov: h.nesterov && h.momentum > 0 && h.dampening === 0 }));

const sparseAdamHyper: fc.Arbitrary<SparseAdamHyper> = fc.record({ lr, betas, eps, sparseMoments: fc.boolean() });

/** Each rule with the claims the kit should test for it. */
// biome-ignore lint/suspicious/noExplicitAny: each case pairs a rule with options of its own hyper-parameter type
const cases: [string, AnyRule, OptimizerLawOptions<any>][] = [
  ['sgd', sgd, { hyper: sgdHyper, withoutDecay: noDecay }],
  [
    'adam',
    adam,
    { hyper: adamHyper(fc.constantFrom(0, 0.01)), withoutDecay: noDecay, scaleInvariant: { hyper: (h: AdamHyper) => ({ ...h, eps: 0, weightDecay: 0 }) } },
  ],
  ['adamW', adamW, { hyper: adamHyper(fc.constantFrom(0, 0.01, 0.1)), withoutDecay: noDecay, scaleInvariant: { hyper: (h: AdamHyper) => ({ ...h, eps: 0 }) } }],
  [
    'adamWHf',
    adamWHf,
    { hyper: adamHyper(fc.constantFrom(0, 0.01, 0.1)), withoutDecay: noDecay, scaleInvariant: { hyper: (h: AdamHyper) => ({ ...h, eps: 0 }) } },
  ],
  [
    'sparseAdam',
    sparseAdam,
    {
      hyper: sparseAdamHyper,
      denseTwin: { rule: adamWHf, hyper: (h: SparseAdamHyper) => ({ lr: h.lr, betas: h.betas, eps: h.eps, weightDecay: 0 }) },
      sparseMatchesDense: 'bitwise',
      scaleInvariant: { hyper: (h: SparseAdamHyper) => ({ ...h, eps: 0 }) },
    },
  ],
];

describe.each(['float64', 'float32'] as const)('optimizer laws in %s', (dtype) => {
  describe.each(cases)('%s', (_, rule, options) => {
    test.each(Object.entries(optimizerLaws(rule, { ...options, dtype })))('%s', (_name, law) => fc.assert(law, { numRuns: 100 }));
  });
});
