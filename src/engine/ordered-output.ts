// Keeps the output and the vault in input order while batches of rows are out on worker
// threads. While no batch is pending, everything goes straight through. Once one is, what
// follows it (bytes, vault records, declarations) waits in a queue behind it and is
// released in order as batches come back.

import type { Push } from '../io/byte-sink.js';

interface Step {
  /** Runs once everything before it has run. */
  run?: () => void;
  /** A batch: `run` (or `error`) is set when its result is in. */
  pending?: boolean;
  error?: { reason: unknown };
}

export class OrderedOutput {
  private readonly queue: Step[] = [];
  private head = 0;
  private pendingJobs = 0;
  private failure: unknown;
  private failed = false;
  private wake: (() => void) | undefined;

  /** Nothing is waiting: what is done now goes out now. */
  get idle(): boolean {
    return this.head === this.queue.length;
  }

  get pending(): number {
    return this.pendingJobs;
  }

  /** Runs `step` now, or after everything already queued. */
  then(step: () => void): void {
    if (this.idle) step();
    else this.queue.push({ run: step });
  }

  /** A batch whose result `apply` handles, in its turn. */
  job<T>(result: Promise<T>, apply: (value: T) => void): void {
    const step: Step = { pending: true };
    this.queue.push(step);
    this.pendingJobs++;
    result.then(
      (value) => {
        step.run = () => apply(value);
        step.pending = false;
        this.pendingJobs--;
        this.drain();
      },
      (reason: unknown) => {
        step.error = { reason };
        step.pending = false;
        this.pendingJobs--;
        this.drain();
      },
    );
  }

  /** Resolves once at most `max` batches are pending (and what they held back has run). */
  async waitUntil(max: number): Promise<void> {
    for (;;) {
      this.drain();
      if (this.failed) throw this.failure;
      if (this.pendingJobs <= max && (max > 0 || this.idle)) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private drain(): void {
    if (!this.failed) {
      try {
        while (this.head < this.queue.length) {
          const step = this.queue[this.head]!;
          if (step.pending) break;
          // A failed batch stops everything behind it: the first failure in input order is the one to report.
          if (step.error) {
            this.failed = true;
            this.failure = step.error.reason;
            break;
          }
          this.queue[this.head++] = {};
          step.run!();
        }
      } catch (err) {
        this.failed = true;
        this.failure = err;
      }
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * `push` behind `ordered`: at once while nothing is pending, else queued in turn. A chunk
 * without a release callback is a view of the input, which may be reused before the
 * batches ahead of it are back: it is copied.
 */
export function orderedPush(ordered: OrderedOutput, push: Push): Push {
  return (chunk, release) => {
    if (ordered.idle) push(chunk, release);
    else if (release) ordered.then(() => push(chunk, release));
    else {
      const copy = Buffer.from(chunk);
      ordered.then(() => push(copy));
    }
  };
}
