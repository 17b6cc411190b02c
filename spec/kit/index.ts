/**
 * `sparsegrad/spec`: the property-test kit our own suites use, public so that anyone
 * writing an op, a layer or an optimizer can test it the same way (docs/TESTING.md).
 */

// ---- closeness: tolerances and assertions ----------------------------------------
export { asValues, assertClose, compare, T32, T64 } from './close.ts';
export type { Bound, CloseOptions, Comparable, Tolerance, Values } from './close.ts';

// ---- fast-check arbitraries ---------------------------------------------------------
export { arbAxis, arbBroadcastPair, arbDType, arbMatmulShapes, arbPositiveTensor, arbSeed, arbShape, arbTensor } from './arbitraries.ts';
export type { MatmulShapeOptions, ShapeOptions, TensorOptions } from './arbitraries.ts';

// ---- gradient checks --------------------------------------------------------------
export { gradcheck } from './gradcheck.ts';
export type { DirectionalReport, GradcheckFn, GradcheckOptions, JacobianReport } from './gradcheck.ts';

// ---- optimizer laws -----------------------------------------------------------------
export { optimizerLaws } from './optimizer-laws.ts';
export type { OptimizerLawOptions } from './optimizer-laws.ts';
