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

/** How a folder written by `sparsegrad pretrain` was trained, in one line (null for any other folder). */
export function pretrainingSummary(dir: string): string | null {
  const path = join(dir, 'pretraining.json');
  if (!existsSync(path)) return null;
  type Phase = {
    steps: number;
    options: { nsp?: boolean };
    corpus?: { sources?: unknown[] };
    previous?: Phase;
    heldOut: { accuracy: number; nextSentence?: { accuracy: number } };
  };
  const last = JSON.parse(readFileSync(path, 'utf8')) as Phase & { model: string };
  const phases: Phase[] = [];
  for (let p: Phase | undefined = last; p; p = p.previous) phases.unshift(p);
  const notes = (p: Phase) => [p.options.nsp && 'MLM + NSP', p.corpus?.sources?.length && 'with task text'].filter(Boolean).join(', ');
  const steps = phases.map((p) => `${p.steps.toLocaleString('en-US')}${notes(p) ? ` (${notes(p)})` : ''}`).join(' + ');
  const what = last.model === 'bert' ? 'masked-token' : 'next-token';
  const pairs = last.heldOut.nextSentence ? `, next sentence ${(100 * last.heldOut.nextSentence.accuracy).toFixed(1)} %` : '';
  return `pretrained here: ${steps} steps; held-out ${what} accuracy ${(100 * last.heldOut.accuracy).toFixed(1)} %${pairs}`;
}
