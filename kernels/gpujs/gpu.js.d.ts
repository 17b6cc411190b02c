// gpu.js is an optional peer dependency, reached only through the dynamic import in
// index.ts and typed there by its own narrow `GpuModule` adapter. This shorthand
// declaration lets the project type-check whether or not gpu.js is installed.
declare module 'gpu.js';
