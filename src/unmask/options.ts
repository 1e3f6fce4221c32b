// The options of unmaskDump, checked and normalised once, up front, as for masking
// (../mask/options.ts): problems come back together as `path: message`. What raw COPY data
// the input is, the vault says (normalised when it is opened).

import type { Writable } from 'node:stream';
import type { Normalized, Problem } from '../errors.js';
import type { Input } from '../engine/drive.js';
import type { DumpProcessor } from '../engine/dump-processor.js';
import { normalizeThreads, type VaultTarget } from '../engine/run-options.js';

export interface UnmaskOptions {
  input: Input;
  output: Writable;
  vault: VaultTarget;
  /** The pseudonym key masking was given, if it was given one. */
  pseudonymKey?: Buffer | undefined;
  onStart?: (processor: DumpProcessor) => void;
  /** Threads that restore rows, as for MaskOptions.threads (default 1), but with workers every batch goes to them. */
  threads?: number;
  onWarning?: (message: string) => void;
}

/** UnmaskOptions checked, defaults filled in. */
export interface UnmaskConfig extends Omit<UnmaskOptions, 'threads'> {
  readonly threads: number;
}

/** `options` checked and normalised: a frozen config, or every problem found. */
export function normalizeUnmaskOptions(options: UnmaskOptions): Normalized<UnmaskConfig> {
  const problems: Problem[] = [];
  const threads = normalizeThreads(options.threads, problems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: Object.freeze({ ...options, threads }) };
}
