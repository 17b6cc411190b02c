// `npm run bench`: every benchmark in this folder, one after the other;
// `npm run bench -- peers gemm`: only those (a name is a file's stem: peers → peers.ts,
// gemm → gemm.bench.ts). peers.ts (sparsegrad vs jax-js and PyTorch) runs only when named:
// it starts Python and takes a few minutes; kernel-ceiling.ts (the GEMM micro-kernel on
// L1-resident panels, which peers.ts also measures) and kernel-profile.ts (a training step's
// time by kernel) only when named too.
import { configureEngine } from '../cli/engine.ts';

// The engine as the command runs it: fused multiply-adds where this Node can have them (SPARSEGRAD_FMA=off: the plain kernel).
configureEngine();
// Each file runs its own comparison (side by side, in the same run) and prints ratios.
const files = [
  'gemm.bench.ts',
  'elementwise.bench.ts',
  'mlp.bench.ts',
  'attention.bench.ts',
  'optim.bench.ts',
  'methods.bench.ts',
  'eigen.bench.ts',
  'models.bench.ts',
  'gpujs.bench.ts',
];
const named = process.argv.slice(2);
const standalone = ['peers', 'kernel-ceiling', 'kernel-profile'];
const selected =
  named.length === 0 ? files : named.map((name) => (standalone.includes(name) ? `${name}.ts` : `${name.replace(/\.bench(\.ts)?$/, '')}.bench.ts`));
for (const file of selected) {
  console.log(`\n=== bench/${file}`);
  const module: { main?: () => unknown } = await import(`./${file}`);
  await module.main?.(); // a file that runs only when asked exports main
}
