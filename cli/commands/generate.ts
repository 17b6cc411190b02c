/**
 * `sparsegrad generate`: LLaMa text from a prompt (greedy with --temperature 0, else
 * sampled with temperature, top-k and top-p from a seeded generator, so the same seed
 * gives the same text), through the KV cache.
 */
import { Generator } from '../../core/random.ts';
import { generate } from '../../models/generate.ts';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from '../args.ts';
import { loadLlama } from '../methods.ts';
import { modelFolder } from './finetune.ts';
import { checkModelFolder } from '../preflight.ts';

export const generateFlags = {
  model: { type: 'string', placeholder: 'DIR', help: 'a LLaMa folder (default: pretrained/llama-mini)' },
  prompt: { type: 'string', default: 'Call me Ishmael.', help: 'the text to continue (or give it as the argument)' },
  maxNewTokens: { type: 'int', min: 1, default: 80, help: 'tokens to generate at most' },
  temperature: { type: 'number', min: 0, default: 0.8, help: '0 = greedy' },
  topK: { type: 'int', min: 0, default: 40, help: 'sample from the K most likely tokens (0: all)' },
  topP: { type: 'number', min: 0, exclusiveMin: true, max: 1, default: 0.95, help: 'nucleus sampling mass (1: off)' },
  seed: { type: 'int', min: 0, default: 0, help: 'sampling seed' },
} as const satisfies FlagSpecs;

export async function generateCommand(argv: readonly string[]): Promise<number> {
  const { flags, help, positional, given } = parseFlags(argv, generateFlags, 'generate', { positional: 1 });
  if (help) {
    console.log(formatHelp('generate', 'Continue a prompt with a LLaMa model.', generateFlags, 'sparsegrad generate [prompt] [flags]'));
    return 0;
  }
  if (positional.length > 0 && given.has('prompt')) throw new CliError('give the prompt either as the argument or with --prompt, not both');
  const prompt = positional[0] ?? flags.prompt;
  const dir = modelFolder(flags.model, 'lm');
  await checkModelFolder(dir, 'lm'); // a damaged folder: one line naming the file
  const { model, tokenizer } = await loadLlama(dir, new Generator(0));
  model.eval();
  const ids = tokenizer.encode(prompt, { addBos: true });
  const t0 = performance.now();
  const out = generate(model, ids, {
    maxNewTokens: flags.maxNewTokens,
    temperature: flags.temperature,
    topK: flags.topK,
    topP: flags.topP,
    generator: new Generator(flags.seed),
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(tokenizer.decode([...ids, ...out], { skipSpecialTokens: true }));
  console.error(`(${out.length} tokens in ${seconds.toFixed(1)} s, ${(out.length / seconds).toFixed(1)} tokens/s; ${dir})`);
  return 0;
}
