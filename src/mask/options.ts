// The options of maskDump, checked and normalised once, up front: before a vault is made or a
// byte is read. Problems come back all together, as `path: message` in the library's words
// (the CLI shows its flags instead, ../cli/option-flags.ts).

import type { Writable } from 'node:stream';
import type { Normalized, Problem } from '../errors.js';
import type { Input } from '../engine/drive.js';
import type { DumpProcessor } from '../engine/dump-processor.js';
import { normalizeRawCopy, type RawCopyConfig, type RawCopyInput } from '../engine/raw-copy.js';
import { normalizeThreads, type VaultTarget } from '../engine/run-options.js';
import type { FollowedDump } from '../engine/statement-router.js';
import type { RuleSet } from '../rules/rules-file.js';
import type { VaultSink } from '../vault/writer.js';

export interface MaskOptions {
  input: Input;
  output: Writable;
  rules: RuleSet;
  /** Omit only for a dry look at what would be masked: the originals are then lost. */
  vault?: VaultTarget;
  /** Rules that match nothing, and keys the rules break (RULES_KEY_COLLISION), are an error instead of a warning. */
  strict?: boolean;
  /** The input is raw COPY data of one table, not a dump. */
  raw?: RawCopyInput | undefined;
  /**
   * 32 bytes that pseudonym and hash derive their secret from, the same in every run; default:
   * the vault's key file, else a key made for this run and kept only in the vault.
   */
  pseudonymKey?: Buffer | undefined;
  onWarning?: (message: string) => void;
  /** Called with the processor once it exists, e.g. to poll progress. */
  onStart?: (processor: DumpProcessor) => void;
  /**
   * Called before the first byte is read, to follow the dump as it is masked: its listeners
   * are told of each statement before the masker handles it, and its catalog is the schema
   * learnt so far (`mask --require-coverage`, `--leak-check`).
   */
  follow?: (dump: FollowedDump) => void;
  /** Also receives every table declaration and row the vault does (`mask --leak-check` gathers the originals). */
  originals?: VaultSink;
  /** Runs once the output is complete, before the vault is finished; if it throws, the vault is removed. */
  beforeFinish?: () => Promise<void>;
  /**
   * Threads that mask rows: 1 (the default) masks on this thread only; N > 1 starts N - 1
   * worker threads for the rows of COPY blocks, and this thread masks batches too when
   * they are busy. The output is the same byte for byte whatever N is.
   */
  threads?: number;
}

/** MaskOptions checked: raw COPY data read into its config, defaults filled in. */
export interface MaskConfig extends Omit<MaskOptions, 'raw' | 'strict' | 'threads'> {
  readonly raw: RawCopyConfig | undefined;
  readonly strict: boolean;
  readonly threads: number;
}

/** `options` checked and normalised: a frozen config, or every problem found. */
export function normalizeMaskOptions(options: MaskOptions): Normalized<MaskConfig> {
  const problems: Problem[] = [];
  const threads = normalizeThreads(options.threads, problems);
  const raw = options.raw === undefined ? undefined : normalizeRawCopy(options.raw, 'raw', problems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: Object.freeze({ ...options, raw, strict: options.strict ?? false, threads }) };
}
