// The Web Worker of page.mjs: the tiny MLP, off the page's main thread.
import { trainTinyMlp } from './tiny-mlp.mjs';

postMessage(trainTinyMlp());
