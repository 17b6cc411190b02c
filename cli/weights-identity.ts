/**
 * Which weights a comparison ran on. A folder's path says nothing once its model is
 * retrained (cli/pretrained/bert-small has held more than one), so every results.json and
 * sweep.json records a digest of the weight files, and a comparison refuses learning rates
 * that a sweep chose on other weights.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `sha256:` and the first 16 hex digits of the SHA-256 over the folder's weight files (sorted by name). */
export function weightsDigest(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  if (files.length === 0) return 'none';
  const hash = createHash('sha256');
  for (const f of files) hash.update(readFileSync(join(dir, f)));
  return `sha256:${hash.digest('hex').slice(0, 16)}`;
}

/** One phase of a folder written by `sparsegrad pretrain` (pretraining.json): a continued run keeps the earlier ones in `previous`. */
export interface PretrainingPhase {
  model: string;
  steps: number;
  options: { nsp?: boolean };
  /** Present when the phase read the fine-tuning corpora's unlabeled text (`--corpus all`). */
  corpus?: { sources?: { name: string }[] };
  heldOut: { accuracy: number; nextSentence?: { accuracy: number } };
  previous?: PretrainingPhase;
}

/** The phases of a folder's pretraining, the first one first (none for a folder `sparsegrad pretrain` did not write). */
export function pretrainingPhases(dir: string): PretrainingPhase[] {
  const path = join(dir, 'pretraining.json');
  if (!existsSync(path)) return [];
  const phases: PretrainingPhase[] = [];
  for (let p: PretrainingPhase | undefined = JSON.parse(readFileSync(path, 'utf8')); p; p = p.previous) phases.unshift(p);
  return phases;
}

/** How a folder written by `sparsegrad pretrain` was trained, in one line (null for any other folder). */
export function pretrainingSummary(dir: string): string | null {
  const phases = pretrainingPhases(dir);
  const last = phases.at(-1);
  if (!last) return null;
  const notes = (p: PretrainingPhase) => [p.options.nsp && 'MLM + NSP', p.corpus?.sources?.length && 'with task text'].filter(Boolean).join(', ');
  const steps = phases.map((p) => `${p.steps.toLocaleString('en-US')}${notes(p) ? ` (${notes(p)})` : ''}`).join(' + ');
  const what = last.model === 'bert' ? 'masked-token' : 'next-token';
  const pairs = last.heldOut.nextSentence ? `, next sentence ${(100 * last.heldOut.nextSentence.accuracy).toFixed(1)} %` : '';
  return `pretrained here: ${steps} steps; held-out ${what} accuracy ${(100 * last.heldOut.accuracy).toFixed(1)} %${pairs}`;
}
