// Every test file runs with uninitialized storage poisoned (kernels/cpu/uninitialized.ts): an
// output element that a kernel failed to write reads NaN, not whatever the memory held, so the
// comparisons with the reference notice it instead of passing by luck.
import { setUninitializedFill } from '../kernels/cpu/uninitialized.ts';

setUninitializedFill(Number.NaN);
