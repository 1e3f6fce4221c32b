// The leaves of the run's digest (../../vault/digest.ts), hashed by the row workers between
// batches: the main thread bounds every run with rules, and a worker has time between
// batches (what WebCrypto cost the main thread: bench/RESULTS.md, 2026-12-02, third
// session). Leaves do not count towards the workers' being busy with rows.

import type { LeafHasher } from '../../vault/digest.js';
import type { LeafDone } from './messages.js';
import type { RowWorkers } from './row-workers.js';

/** A leaf costs a worker about what this many bytes of rows do (SHA-256 against masking). */
const LEAF_WEIGHT = 1 / 4;

export class WorkerLeafHasher implements LeafHasher {
  constructor(private readonly workers: RowWorkers) {}

  /** SHA-256 of `leaf[0..length)`, on the worker with the least work waiting. */
  async hashLeaf(leaf: SharedArrayBuffer, length: number): Promise<Uint8Array> {
    const reply = (await this.workers.request((seq) => ({ type: 'leaf', seq, leaf, length }), length * LEAF_WEIGHT, false)) as LeafDone;
    return reply.digest;
  }
}
