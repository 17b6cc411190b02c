/**
 * `compare --rerender`: a finished comparison's report.html written again from its
 * results.json, without training.
 *
 * Why: a committed comparison took hours to train, its report is rebuilt in a second when
 * the report changes; and results from before the bag-of-word-pieces baseline get it, so
 * that every table shows whether fine-tuning beat the simplest model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../node.ts';
import { CliError } from '../args.ts';
import { portablePath } from '../paths.ts';
import { BAG_OF_WORDS, type ReportData } from '../report/data.ts';
import { renderReport } from '../report/html.ts';
import type { Settings } from './settings.ts';
import { formatTable, markdownTable } from './tables.ts';
import { loadClassification } from './tasks.ts';

/**
 * --rerender: report.html again from results.json, no training. A classification comparison
 * written before the bag-of-word-pieces baseline existed gets it now, computed from the task
 * the flags describe — refused unless that task has the stored split and test labels and is
 * tokenized by the model folder and at the length the runs used, so that it is the baseline of
 * the very tokens the runs read — and its table.md and results.json are rewritten with it.
 */
export async function rerender(s: Settings): Promise<number> {
  const resultsPath = join(s.out, 'results.json');
  if (!existsSync(resultsPath)) throw new CliError(`--rerender: no results.json in ${s.out} (pass the --out of a finished comparison)`);
  const data = JSON.parse(readFileSync(resultsPath, 'utf8')) as ReportData;
  if (data.bagOfWords === undefined && data.kind !== 'lm' && data.baseline) {
    const again = `pass the flags of the comparison that wrote it: ${data.command}`;
    // The baseline reads the folder's tokenizer, not its weights (which a later pretraining phase may have replaced).
    if (portablePath(s.model) !== data.settings.model || s.maxLength !== data.settings['max length'])
      throw new CliError(
        `--rerender: ${resultsPath} was made with ${data.settings.model} at max length ${data.settings['max length']}, not ${portablePath(s.model)} at ${s.maxLength}; ${again}`,
      );
    const loaded = await loadClassification(s);
    const gold = loaded.encoded.kind === 'classification' ? loaded.encoded.test.map((e) => e.label) : [];
    if (loaded.split !== data.split || JSON.stringify(gold) !== JSON.stringify(data.testLabels))
      throw new CliError(`--rerender: the task these flags describe is not the one in ${resultsPath} (its split or test labels differ); ${again}`);
    data.bagOfWords = loaded.bagOfWords;
    data.table = formatTable(data.rows, data, data.differences, data.load);
    await writeFileAtomic(resultsPath, `${JSON.stringify(data, null, 1)}\n`);
    await writeFileAtomic(join(s.out, 'table.md'), `${markdownTable(data.rows, data, data.differences)}\n`);
    console.log(`added the ${BAG_OF_WORDS.replaceAll(' ', '-')} baseline to ${resultsPath} and table.md`);
  }
  await writeFileAtomic(join(s.out, 'report.html'), renderReport(data));
  console.log(`report: ${join(s.out, 'report.html')}`);
  return 0;
}
