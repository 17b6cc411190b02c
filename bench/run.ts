// `npm run bench`: every benchmark in this folder, one after the other.
export {};
// Each file runs its own comparison (reference vs fast, side by side) and prints ratios.
const files = ['gemm.bench.ts', 'elementwise.bench.ts', 'mlp.bench.ts', 'attention.bench.ts', 'optim.bench.ts', 'methods.bench.ts', 'eigen.bench.ts', 'models.bench.ts', 'gpujs.bench.ts'];
for (const file of files) {
  console.log(`\n=== bench/${file}`);
  await import(`./${file}`);
}
