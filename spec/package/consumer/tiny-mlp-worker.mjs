// The worker_threads side of train.mjs: the same training, off the main thread.
import { parentPort } from 'node:worker_threads';
import { trainTinyMlp } from './tiny-mlp.mjs';

parentPort.postMessage(trainTinyMlp());
