/**
 * Ctrl-C during training: the first SIGINT only asks the loop to stop at the next step
 * boundary, where it writes its checkpoint and throws `Interrupted` (main.ts then exits
 * with status 130); a second Ctrl-C exits at once.
 *
 * Why not stop at once: a step cut halfway leaves weights and optimizer state out of step
 * with each other, and the checkpoint must be one an uninterrupted run could have written.
 * The preliminary phase of SparseGrad and the evaluation are not interruptible halfway
 * (the checkpoint follows them).
 */

/** Thrown after Ctrl-C once the checkpoint is safe: main.ts exits with status 130. */
export class Interrupted extends Error {
  /** `resumeCommand`: the full command that continues the run (commands know their flags; the loop does not). */
  constructor(
    readonly checkpointDir: string | undefined,
    readonly step: number,
    resumeCommand?: string,
  ) {
    super(
      checkpointDir
        ? `interrupted at step ${step}; checkpoint saved in ${checkpointDir} (continue with ${resumeCommand ?? '--resume'})`
        : `interrupted at step ${step} (no checkpoint directory was set, nothing saved)`,
    );
    this.name = 'Interrupted';
  }
}

let interruptRequested = false;
let firstInterrupt = 0;
let sigintInstalled = 0;
const onSigint = () => {
  // `npm start` forwards the terminal's SIGINT to its child, which also gets it from the
  // terminal: two signals within a moment are one Ctrl-C.
  if (interruptRequested && Date.now() - firstInterrupt < 1500) return;
  if (interruptRequested) {
    process.stderr.write('\nsecond interrupt: exiting without waiting for the checkpoint\n');
    process.exit(130);
  }
  interruptRequested = true;
  firstInterrupt = Date.now();
  process.stderr.write('\ninterrupt: saving a checkpoint at the next step boundary (Ctrl-C again to quit at once)\n');
};

/** Install the SIGINT handler for the duration of `fn`. */
export async function withSigint<T>(fn: () => Promise<T>): Promise<T> {
  if (sigintInstalled++ === 0) process.on('SIGINT', onSigint);
  try {
    return await fn();
  } finally {
    if (--sigintInstalled === 0) process.off('SIGINT', onSigint);
  }
}

/** Whether Ctrl-C has asked the run to stop. */
export const interruptPending = () => interruptRequested;

/** Let pending events run (the SIGINT handler among them) between two steps. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
