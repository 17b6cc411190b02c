// A TypeScript consumer, type-checked with `tsc --noEmit` against the installed .d.ts
// files (skipLibCheck off, so the shipped declarations are checked too).
import { crossEntropy, randn, type Tensor, tensor } from 'sparsegrad';
import { useGpujs } from 'sparsegrad/gpujs';
import { readSafetensors } from 'sparsegrad/node';
import { Linear } from 'sparsegrad/nn';
import { AdamW, type OptimizerClass } from 'sparsegrad/optim';
import { assertClose, gradcheck, T64 } from 'sparsegrad/spec';

const layer = new Linear(3, 2);
const x: Tensor = randn([4, 3]);
const loss: Tensor = crossEntropy(layer.forward(x), tensor([0, 1, 1, 0], { dtype: 'int32' }));
const optimizer = new AdamW(layer.parameters(), { lr: 1e-3 });
const Class: OptimizerClass<{ lr: number }> = AdamW;
const value: number = loss.item();
// The declarations are real types, not `any`: a number is not a string.
// @ts-expect-error item() returns a number
const wrong: string = loss.item();
export { assertClose, Class, gradcheck, optimizer, readSafetensors, T64, useGpujs, value, wrong };
