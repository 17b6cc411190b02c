/**
 * The playground page's script (bundled by playground/build.mjs): wires the three demos to
 * the page. All the learning is in the modules it imports — expression.ts and graph.ts
 * (autograd), mlp.ts (training), rotation.ts (SparseGrad) — this file only reads inputs,
 * writes SVG and keeps the page responsive.
 *
 * Tests (spec/playground.spec.ts) drive the page as a learner would and read the numbers
 * the drawings carry as data attributes; `window.sparsegradResult` says the page is ready.
 */
import { lineChart, PALETTE } from '../cli/report/svg.ts';
import { backendNames, getBackend, setBackend } from '../index.ts';
import { parseVariables, run } from './expression.ts';
import { graphSvg, traceGraph } from './graph.ts';
import { Trainer } from './mlp.ts';
import { concentrationSvg, magnitudeSvg, rotationDemo } from './rotation.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- which backend runs the kernels ---------------------------------------------------------

/**
 * The page starts on the fast cpu backend (the WebAssembly GEMM; one thread, since a page
 * without cross-origin isolation has no shared memory) unless the address says
 * `?backend=reference`: every kernel a plain loop a learner can step through in the
 * browser's debugger. The results agree to rounding; only speed and readability differ.
 */
const DEFAULT_BACKEND = 'cpu';
const requested = new URLSearchParams(location.search).get('backend') ?? DEFAULT_BACKEND;
setBackend(backendNames().includes(requested) ? requested : DEFAULT_BACKEND);
const backendSelect = $<HTMLSelectElement>('backend');
backendSelect.innerHTML = backendNames()
  .map((n) => `<option${n === getBackend().name ? ' selected' : ''}>${n}</option>`)
  .join('');
backendSelect.addEventListener('change', () => {
  setBackend(backendSelect.value);
  history.replaceState(null, '', `?backend=${encodeURIComponent(backendSelect.value)}`);
  showGraph();
  $('reset').click();
  showRotation();
});

// ---- (a) an expression and its autograd graph ---------------------------------------------

function showGraph(): void {
  const error = $('expr-error');
  error.textContent = '';
  try {
    const env = parseVariables($<HTMLTextAreaElement>('vars').value);
    const output = run($<HTMLInputElement>('expr').value, env);
    const graph = traceGraph(output, env);
    $('graph').innerHTML = graphSvg(graph);
    $('expr-result').textContent =
      `${graph.nodes.length} tensors, ${graph.nodes.filter((n) => n.inputs.length > 0).length} recorded ops; output = ${output.numel === 1 ? output.item().toPrecision(6) : `[${output.shape.join('×')}] (seeded with ones)`}`;
  } catch (e) {
    // A typo should say where it is, and leave the last good drawing in place.
    error.textContent = (e as Error).message;
  }
}

$('run-expr').addEventListener('click', showGraph);
$('expr').addEventListener('keydown', (e) => {
  if (e.key === 'Enter') showGraph();
});

// ---- (b) a tiny MLP, trained a few steps per animation frame -------------------------------

let trainer = new Trainer();
let running = false;
const LO = [-1.6, -1.1] as const;
const HI = [2.6, 1.6] as const;
const RES = 36;

/** The decision map: P(class 1) per grid cell, with the training points on top. */
function boundarySvg(): string {
  const size = 300;
  const cell = size / RES;
  const p = trainer.grid(RES, LO, HI);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" data-plot="decision-boundary" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">`;
  for (let i = 0; i < p.length; i++) {
    const t = p[i]!;
    const shade = (a: number, b: number) => Math.round(a + (b - a) * t);
    svg += `<rect x="${((i % RES) * cell).toFixed(2)}" y="${(Math.floor(i / RES) * cell).toFixed(2)}" width="${cell + 0.5}" height="${cell + 0.5}" fill="rgb(${shade(198, 250)},${shade(219, 205)},${shade(239, 196)})"/>`;
  }
  trainer.points.forEach(([x, y], i) => {
    const cx = ((x - LO[0]) / (HI[0] - LO[0])) * size;
    const cy = ((HI[1] - y) / (HI[1] - LO[1])) * size;
    svg += `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="2.6" fill="${trainer.labels[i] ? PALETTE[3] : PALETTE[0]}" stroke="#fff" stroke-width="0.5"/>`;
  });
  return `${svg}</svg>`;
}

function showTraining(): void {
  const losses = trainer.losses;
  const status = $('train-status');
  status.dataset.steps = String(losses.length);
  status.dataset.losses = JSON.stringify(losses);
  const accuracy = trainer.accuracy();
  status.dataset.accuracy = String(accuracy);
  status.textContent = `step ${losses.length} · loss ${losses.length ? losses[losses.length - 1]!.toFixed(4) : '—'} · accuracy ${(100 * accuracy).toFixed(1)} %`;
  $('loss-chart').innerHTML = lineChart({
    plot: 'loss-curve',
    title: 'Training loss (cross-entropy)',
    xLabel: 'step',
    yLabel: 'loss',
    width: 520,
    height: 300,
    yMin: 0,
    series: [{ name: 'loss', color: PALETTE[0], points: losses.length ? losses.map((l, i) => [i + 1, l] as const) : [[0, 0]] }],
  });
  $('boundary').innerHTML = boundarySvg();
}

/**
 * One animation frame: train for about 12 ms, then redraw and yield to the browser, so
 * clicks and scrolling stay smooth however slow the machine is.
 */
function frame(): void {
  if (!running) return;
  const start = performance.now();
  do trainer.step();
  while (performance.now() - start < 12 && trainer.losses.length < 2000);
  showTraining();
  if (trainer.losses.length >= 2000) setRunning(false);
  else requestAnimationFrame(frame);
}

function setRunning(on: boolean): void {
  running = on;
  $('train').textContent = on ? 'Pause' : trainer.losses.length ? 'Resume' : 'Train';
  if (on) requestAnimationFrame(frame);
}

$('train').addEventListener('click', () => setRunning(!running));
$('reset').addEventListener('click', () => {
  setRunning(false);
  trainer = new Trainer({ seed: Number($<HTMLInputElement>('mlp-seed').value) || 1 });
  $('train').textContent = 'Train';
  showTraining();
});

// ---- (c) one SparseGrad layer's gradient, before and after the rotation --------------------

function showRotation(): void {
  const r = rotationDemo({ seed: Number($<HTMLInputElement>('rot-seed').value) || 3 });
  const summary = $('rot-summary');
  summary.dataset.top1M = String(r.top1.m);
  summary.dataset.top1Rotated = String(r.top1.rotated);
  summary.textContent = `Linear(${r.shape[1]} → ${r.shape[0]}), bases from ${r.slices} gradients; on a fresh one the largest 1 % of entries hold ${(100 * r.top1.m).toFixed(1)} % of ‖M‖² but ${(100 * r.top1.rotated).toFixed(1)} % of ‖VᵀMU‖².`;
  $('concentration').innerHTML = concentrationSvg(r);
  $('heat-m').innerHTML = magnitudeSvg('heatmap-m', '|M|', r.m, r.shape);
  $('heat-rotated').innerHTML = magnitudeSvg('heatmap-rotated', '|VᵀMU|', r.rotated, r.shape);
}

$('rotate').addEventListener('click', showRotation);

// ---- first drawing ------------------------------------------------------------------------

showGraph();
showTraining();
showRotation();
(window as unknown as { sparsegradResult?: Promise<unknown> }).sparsegradResult = Promise.resolve({ ready: true, backend: getBackend().name });
