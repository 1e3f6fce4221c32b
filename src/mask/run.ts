// Masking a dump as a run over streams: the vault opened before, the masker driven over the
// input (../engine/drive.ts), and the vault finished after (or removed, on any error).

import type { Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';
import { loadSqlParser } from '../schema/catalog.js';
import type { RuleSet } from '../rules/rules-file.js';
import { TreeDigest, TREE_DIGEST } from '../vault/digest.js';
import { VaultWriter, type VaultSink } from '../vault/writer.js';
import { VERSION } from '../version.js';
import { DumpMasker } from './dump-masker.js';
import { RowWorkers } from '../engine/workers/row-workers.js';
import { drive, type Input } from '../engine/drive.js';
import type { DumpProcessor, RawCopyInput, RunSummary } from '../engine/dump-processor.js';
import { digestOptions, type VaultTarget } from '../engine/run-options.js';
import type { FollowedDump } from '../engine/statement-router.js';
import { secretForMask, wipeStrategySecret, type StrategySecret } from '../engine/strategy-secret.js';


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

export interface MaskResult extends RunSummary {
  /** The digest of the masked output (sha256-tree-1MiB), as recorded in the vault. */
  outputDigest: string;
  vaultBytes: number;
}

/** Batches of rows out on the workers, per worker, before the input waits. */
const PENDING_PER_WORKER = 4;
/** Mask workers for a run: threads - 1 (this thread masks too), none when nothing needs masking. */
function startWorkers(threads: number | undefined, options: MaskOptions, secret: Buffer | undefined): RowWorkers | undefined {
  const n = (threads ?? 1) - 1;
  if (n < 1 || options.rules.tables.size === 0 || options.originals !== undefined || options.raw !== undefined) return undefined;
  return new RowWorkers(n, secret);
}

export async function maskDump(options: MaskOptions): Promise<MaskResult> {
  await loadSqlParser();
  const secret = secretForMask(options.rules, options.pseudonymKey, options.vault?.keySource);
  try {
    return await maskWithSecret(options, secret);
  } finally {
    wipeStrategySecret(secret);
  }
}

async function maskWithSecret(options: MaskOptions, secret: StrategySecret | undefined): Promise<MaskResult> {
  const vault = options.vault
    ? VaultWriter.create(options.vault.path, options.vault.keySource, {
        tool: 'pgcloak',
        version: VERSION,
        createdAt: new Date().toISOString(),
        inputFormat: options.raw?.format ?? 'plain',
        ...(options.raw ? { raw: options.raw } : {}),
        rulesDigest: options.rules.digest,
        /** How maskedDigest (in the trailer) is computed. */
        outputDigest: TREE_DIGEST,
        rules: options.rules.text,
        ...(secret ? { strategySecret: secret.record } : {}),
      }, { stagingPath: options.vault.stagingPath, signKey: options.vault.signKey })
    : undefined;
  // Sealed in the vault now: this string of a key made for the run goes with the next garbage collection.
  if (secret) delete secret.record.key;
  const workers = startWorkers(options.threads, options, secret?.key);
  const digest = new TreeDigest(digestOptions(options.threads, workers));
  try {
    const driver = drive(options.input, options.output, { maxPending: (workers?.size ?? 0) * PENDING_PER_WORKER, digest: { stream: digest, of: 'output' } });
    const masker = new DumpMasker(options.rules, driver.push, teeVaultSink(vault, options.originals), options.onWarning, workers);
    masker.useStrategySecret(secret?.key);
    if (options.strict) masker.keyCheck = 'error';
    options.follow?.(masker);
    // Inside the try: a bad raw COPY configuration must not leave a vault behind.
    if (options.raw) masker.configureRawCopy(options.raw);
    options.onStart?.(masker);
    await driver.run(masker);
    const summary = masker.summary();
    if (options.strict && summary.notExisting.length > 0) {
      throw new PgcloakError('RULES_NOT_EXISTING', `--strict: rules that match nothing in the dump:\n  ${summary.notExisting.join('\n  ')}`);
    }
    await options.beforeFinish?.();
    const outputDigest = await digest.hex();
    await vault?.settle();
    vault?.finish({
      finishedAt: new Date().toISOString(),
      maskedDigest: outputDigest,
      /** The dump's client_encoding (the vault's fields are in it): UTF8 unless the dump set another. */
      clientEncoding: masker.encodingName,
      bytesIn: summary.bytesIn,
      bytesOut: summary.bytesOut,
      tables: summary.tables
        .filter((t) => t.ruleTable !== undefined)
        .map((t) => ({ table: t.table, ruleTable: t.ruleTable, rows: t.rows, columns: t.maskedColumns })),
    });
    return { ...summary, outputDigest, vaultBytes: vault?.bytesWritten ?? 0 };
  } catch (err) {
    await vault?.settle();
    vault?.abort();
    throw err;
  } finally {
    await digest.close();
    await workers?.close();
  }
}

/** The vault, and a second sink that sees the same records. */
function teeVaultSink(vault: VaultSink | undefined, also: VaultSink | undefined): VaultSink | undefined {
  if (!also || !vault) return also ?? vault;
  return {
    declareTable(decl) {
      vault.declareTable(decl);
      also.declareTable(decl);
    },
    row(tableIndex, ordinal, fields) {
      vault.row(tableIndex, ordinal, fields);
      also.row(tableIndex, ordinal, fields);
    },
    statement(text) {
      vault.statement(text);
      also.statement(text);
    },
  };
}
