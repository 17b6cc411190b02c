/**
 * The fine-tuning corpora's text that no fine-tuning split reads, as unlabeled pretraining
 * text (`sparsegrad pretrain --corpus all`). A model pretrained only on speeches has seen
 * little of the words a movie review or an e-mail is made of; continued pretraining on
 * in-domain text that the evaluation never uses ("domain-adaptive pretraining", Gururangan
 * et al. 2020) is the usual fix, and it is fair exactly when no test text is in it.
 *
 * What is excluded, for the split of `--data-seed 0` (the default of every command):
 * - spam and IMDB: every test example, and the first `RESERVED_TRAINING` training examples
 *   (what a run capped at that many reads: the presets read at most 2,000 e-mails and
 *   4,000 reviews, and a sweep's validation examples come out of those). The rest of the
 *   training side is used, without its labels.
 * - brown-genre: every document of its four genres, on either side; the other eleven
 *   genres are used (a BERT model is never fine-tuned on them).
 * - Moby Dick (the LLaMa fine-tuning text): all of it.
 * Another `--data-seed` draws other test examples, which this text may contain, so
 * `checkPretrainingOverlap` refuses it for a model pretrained on the task's text.
 */
import { ValueError } from '../../base/errors.ts';
import { brownDocuments, brownText } from '../data/corpora.ts';
import { BROWN_CLASSIFICATION_GENRES, loadClassificationTask } from '../data/tasks.ts';
import { pretrainingPhases } from '../weights-identity.ts';

/** The data seed whose splits the pretraining text stays out of. */
export const PRETRAINING_DATA_SEED = 0;

/** Training examples per task kept out of pretraining: any fine-tuning run capped at this many (seed 0) reads none of the pretraining text. */
export const RESERVED_TRAINING = { spam: 2000, imdb: 10_000 } as const;

export interface UnlabeledSource {
  name: string;
  documents: string[];
  /** One line for pretraining.json and the README: what was taken and what was left out. */
  how: string;
}

/** The training examples of `task` beyond its reserved ones (no test example, whatever the cap). */
function unusedTraining(task: keyof typeof RESERVED_TRAINING): UnlabeledSource {
  const reserved = RESERVED_TRAINING[task];
  const whole = loadClassificationTask(task, { seed: PRETRAINING_DATA_SEED });
  const read = loadClassificationTask(task, { seed: PRETRAINING_DATA_SEED, maxTrain: reserved });
  // Excluded by text, not position: a text duplicated in the corpus stays out when any copy of it is read.
  const excluded = new Set([...read.train, ...whole.test].map((e) => e.text));
  const documents = whole.train.map((e) => e.text).filter((t) => !excluded.has(t));
  return {
    name: task,
    documents,
    how: `${documents.length} of the ${whole.train.length} training-side texts of --data-seed ${PRETRAINING_DATA_SEED}, without labels (not the ${whole.test.length} test texts, not the first ${reserved} training ones, nor any duplicate of those)`,
  };
}

/** The Brown documents of the genres brown-genre does not classify, each as one text. */
function otherBrownGenres(): UnlabeledSource {
  const all = brownDocuments();
  const kept = all.filter((d) => !BROWN_CLASSIFICATION_GENRES.includes(d.genre));
  return {
    name: 'brown',
    documents: kept.map(brownText),
    how: `${kept.length} of the Brown corpus's ${all.length} documents: every genre but brown-genre's ${BROWN_CLASSIFICATION_GENRES.join(', ')}`,
  };
}

/** Every unlabeled source, in a fixed order. */
export function unlabeledTaskText(): UnlabeledSource[] {
  return [unusedTraining('spam'), unusedTraining('imdb'), otherBrownGenres()];
}

/** The task corpora a folder written by `sparsegrad pretrain` has read, over all its phases (none for any other folder). */
export function pretrainedOnTaskText(dir: string): string[] {
  const names = pretrainingPhases(dir).flatMap((p) => (p.corpus?.sources ?? []).map((s) => s.name));
  return [...new Set(names)];
}

/**
 * Refuses a split whose test side may hold text the model read while pretraining: the
 * pretraining text stays out of the test side of --data-seed 0 only.
 */
export function checkPretrainingOverlap(dir: string, task: string, dataSeed: number): void {
  if (dataSeed === PRETRAINING_DATA_SEED || !pretrainedOnTaskText(dir).includes(task)) return;
  throw new ValueError(
    `${dir} was pretrained on ${task} text outside the split of --data-seed ${PRETRAINING_DATA_SEED}; the test side of --data-seed ${dataSeed} may contain text it read. Use --data-seed ${PRETRAINING_DATA_SEED}, or a model not pretrained on ${task} text`,
  );
}
