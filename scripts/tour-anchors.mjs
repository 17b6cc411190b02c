// Re-point the anchors of docs/TOUR.md at the lines where their symbols are now.
//
//   node scripts/tour-anchors.mjs          rewrite the line numbers that drifted
//   node scripts/tour-anchors.mjs --check  only list them (exit 1 if any)
//
// An anchor is [`symbol` · path:line](../path#Lline) (spec/tour.spec.ts checks every one).
// Each symbol occurs once in its file, so when its line no longer holds it, the line that
// does is taken; an anchor whose symbol is gone (or no longer unique) is reported and left
// alone, for a person to rewrite.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const tourPath = join(root, 'docs/TOUR.md');
const check = process.argv.includes('--check');
const ANCHOR = /\[`([^`]+)` · ([\w./-]+):(\d+)\]\(\.\.\/([\w./-]+)#L(\d+)\)/g;

const moved = [];
const lost = [];
const text = readFileSync(tourPath, 'utf8').replace(ANCHOR, (whole, symbol, path, line) => {
  const file = join(root, path);
  if (!existsSync(file)) {
    lost.push(`${path}:${line} \`${symbol}\`: no such file`);
    return whole;
  }
  const lines = readFileSync(file, 'utf8').split('\n');
  const old = Number(line);
  if (lines[old - 1]?.includes(symbol)) return whole;
  const hits = lines.flatMap((l, i) => (l.includes(symbol) ? [i + 1] : []));
  if (hits.length === 0) {
    lost.push(`${path}:${line} \`${symbol}\`: the symbol is gone from the file`);
    return whole;
  }
  if (hits.length > 1) {
    lost.push(`${path}:${line} \`${symbol}\`: the symbol occurs on lines ${hits.join(', ')}; name one that occurs once`);
    return whole;
  }
  const now = hits[0];
  moved.push(`${path}:${old} → ${now} \`${symbol}\``);
  return `[\`${symbol}\` · ${path}:${now}](../${path}#L${now})`;
});

for (const m of moved) console.log(`${check ? 'drifted' : 'moved'}: ${m}`);
for (const l of lost) console.error(`rewrite by hand: ${l}`);
if (!check && moved.length > 0) writeFileSync(tourPath, text);
if (lost.length > 0 || (check && moved.length > 0)) process.exit(1);
