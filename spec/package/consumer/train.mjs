// Trains the tiny MLP on the main thread and in a worker_threads worker; prints both loss curves.
import { Worker } from 'node:worker_threads';
import { trainTinyMlp } from './tiny-mlp.mjs';

const main = trainTinyMlp();
const worker = await new Promise((resolve, reject) => {
  const w = new Worker(new URL('./tiny-mlp-worker.mjs', import.meta.url));
  w.once('message', resolve);
  w.once('error', reject);
});
console.log(JSON.stringify({ main, worker }));
