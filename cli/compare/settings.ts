/**
 * What one comparison runs: its flags resolved against the chosen setting (quick, default
 * or full; ./profiles.ts) and, with --sweep, the sweep's learning rates.
 *
 * Why one resolved object: the checks, the task loader, every run's configuration, the
 * report and --rerender all read the same values, so that a default is decided once —
 * an explicit flag first, then the sweep's rate, then the setting's.
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { PRETRAINED_DIR } from '../paths.ts';
import { CliError } from '../args.ts';
import type { MethodName, TrainScope } from '../methods.ts';
import { taskKind } from '../commands/finetune.ts';
import type { SweepSummary } from '../commands/sweep.ts';
import type { CompareFlags } from './flags.ts';
import { LM_PROFILES, PROFILES, type ProfileName } from './profiles.ts';
import { readSweep } from './sweep-rates.ts';

export interface Settings {
  task: string;
  kind: ReturnType<typeof taskKind>;
  model: string;
  methods: MethodName[];
  seeds: number[];
  steps: number;
  batchSize: number;
  lr: Record<MethodName, number>;
  /** --sweep: the file as given, and its summary. */
  sweep: { file: string; summary: SweepSummary } | undefined;
  validation: number | undefined;
  maxLength: number;
  maxTrain: number;
  maxTest: number;
  maxChars: number;
  dataSeed: number;
  rank: number;
  k: number | undefined;
  prelimSteps: number;
  inputBasis: 'consistent' | 'reference';
  materialized: 'auto' | 'on' | 'off';
  train: TrainScope;
  prelimAll: boolean;
  sparseMoments: boolean;
  rowCompaction: boolean;
  bootstrap: number;
  concentrationBatches: number;
  evalBatchSize: number;
  jobs: number;
  out: string;
  profile: ProfileName;
}

export function resolveSettings(flags: CompareFlags): Settings {
  if (flags.quick && flags.full) throw new CliError('--quick and --full exclude each other');
  const profile = flags.quick ? 'quick' : flags.full ? 'full' : 'default';
  const task = flags.task ?? PROFILES[profile].task;
  const kind = taskKind(task);
  const sweep = flags.sweep === undefined ? undefined : { file: flags.sweep, summary: readSweep(resolve(flags.sweep), task, flags) };
  // Classification reads its setting from PROFILES; language modelling from LM_PROFILES (model,
  // scope, sizes, rates; PROFILES' example counts unused).
  const p = kind === 'classification' ? PROFILES[profile] : { ...PROFILES[profile], ...LM_PROFILES[profile] };
  const train = (flags.train as TrainScope | undefined) ?? p.train;
  return {
    task,
    kind,
    model: flags.model !== undefined ? resolve(flags.model) : join(PRETRAINED_DIR, p.model),
    methods: flags.methods as MethodName[],
    seeds: flags.seeds ?? [...p.seeds],
    steps: flags.steps ?? p.steps,
    batchSize: flags.batchSize ?? p.batchSize,
    lr: {
      full: flags.lrFull ?? flags.lr ?? sweep?.summary.chosen.full ?? p.lr.full,
      lora: flags.lrLora ?? flags.lr ?? sweep?.summary.chosen.lora ?? p.lr.lora,
      meprop: flags.lrMeprop ?? flags.lr ?? sweep?.summary.chosen.meprop ?? p.lr.meprop,
      sparsegrad: flags.lrSparsegrad ?? flags.lr ?? sweep?.summary.chosen.sparsegrad ?? p.lr.sparsegrad,
    },
    sweep,
    validation: flags.validation,
    maxLength: flags.maxLength ?? p.maxLength,
    maxTrain: flags.maxTrain ?? p.maxTrain,
    maxTest: flags.maxTest ?? p.maxTest,
    maxChars: flags.maxChars ?? p.maxChars,
    dataSeed: flags.dataSeed,
    rank: flags.rank,
    k: flags.k,
    prelimSteps: flags.prelimSteps,
    inputBasis: flags.inputBasis as Settings['inputBasis'],
    materialized: flags.materialized as Settings['materialized'],
    train,
    prelimAll: flags.prelimAll ?? false,
    sparseMoments: flags.sparseMoments ?? false,
    rowCompaction: flags.rowCompaction ?? false,
    bootstrap: flags.bootstrap,
    concentrationBatches: flags.concentrationBatches,
    evalBatchSize: flags.evalBatchSize,
    jobs: flags.jobs ?? Math.max(1, Math.min(2, availableParallelism())),
    out: resolve(flags.out ?? join('runs', `compare-${task}${profile === 'default' ? '' : `-${profile}`}${train === p.train ? '' : `-${train}`}`)),
    profile,
  };
}
