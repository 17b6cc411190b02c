/**
 * The `sparsegrad` command.
 *
 *   sparsegrad [compare] [flags]     the comparison (default): Full FT, LoRA, MeProp, SparseGrad
 *   sparsegrad finetune [flags]      one method, any model folder and task, checkpoints + resume
 *   sparsegrad eval [flags]          evaluate a model folder on a task
 *   sparsegrad generate [flags]      LLaMa text from a prompt
 *   sparsegrad memory [flags]        bytes held per method at BERT-base / LLaMa-7B MLP sizes
 *   sparsegrad sweep [flags]         learning rates per method, chosen on a validation split
 *   sparsegrad pretrain [flags]      build the small pretrained models
 *
 * The executable is bin.ts (bundled into dist/sparsegrad.js; cli/bin.mjs runs the sources
 * through tsx). Usage errors (and a damaged model folder or an unwritable output path,
 * found before any expensive step) print `error: …` and exit 2; a diverged run exits 3
 * (cli/divergence.ts); Ctrl-C during training saves a checkpoint and exits 130.
 */
import { SparsegradError } from '../base/errors.ts';
import { CliError, checkChoice } from './args.ts';
import { Interrupted } from './train/interrupt.ts';

type Command = (argv: readonly string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  compare: {
    summary: 'fine-tune BERT with Full FT, LoRA, MeProp and SparseGrad over seeds; table + HTML report (default)',
    load: async () => (await import('./commands/compare.ts')).compareCommand,
  },
  finetune: {
    summary: 'fine-tune one method on a task (any BERT/LLaMa folder), with checkpoints and --resume',
    load: async () => (await import('./commands/finetune.ts')).finetuneCommand,
  },
  eval: { summary: 'evaluate a model folder on a task (accuracy/F1, or perplexity)', load: async () => (await import('./commands/eval.ts')).evalCommand },
  generate: { summary: 'generate LLaMa text from a prompt', load: async () => (await import('./commands/generate.ts')).generateCommand },
  sweep: {
    summary: "learning-rate sweep: 'compare' per rate on a validation split, each method's best rate (then compare --sweep)",
    load: async () => (await import('./commands/sweep.ts')).sweepCommand,
  },
  memory: {
    summary: 'exact bytes each method holds at BERT-base and LLaMa-7B MLP sizes, from config alone (no training)',
    load: async () => (await import('./commands/memory.ts')).memoryCommand,
  },
  pretrain: {
    summary: 'pretrain BERT or LLaMa from scratch (--size mini: pretrained/*-mini; --size small: 4 × 256)',
    load: async () => (await import('./commands/pretrain.ts')).pretrainCommand as Command,
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'usage: sparsegrad [command] [flags]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    "Without a command, runs 'compare'. 'sparsegrad <command> --help' lists a command's flags.",
  ].join('\n');
}

/** Run the CLI on `argv` (the arguments after the program name); resolves with the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === '-h' || first === '--help' || first === 'help') {
      console.log(usage());
      return 0;
    }
    const isCommand = first !== undefined && !first.startsWith('-');
    const name = isCommand ? checkChoice('command', first, Object.keys(COMMANDS)) : 'compare';
    const command = await COMMANDS[name]!.load();
    return await command(isCommand ? rest : argv);
  } catch (error) {
    if (error instanceof Interrupted) {
      console.error(`\n${error.message}`);
      return 130;
    }
    if (error instanceof CliError) {
      console.error(`error: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof SparsegradError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
