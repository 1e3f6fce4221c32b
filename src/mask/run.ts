// Masking and unmasking as stream pipelines: the synchronous cores above, wrapped in
// a Transform; the vault opened before and finished (or removed) after.

import type { Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';
import { loadSqlParser } from '../schema/catalog.js';
import { parseRules, type RuleSet } from '../rules/rules-file.js';
import { streamDigest, TreeDigest, TREE_DIGEST, type DigestOptions, type StreamDigest } from '../vault/digest.js';
import type { KeySource } from '../vault/key.js';
import type { SigningKey } from '../vault/signature.js';
import { VaultReader } from '../vault/reader.js';
import { VaultWriter } from '../vault/writer.js';
import { DumpUnmasker } from '../unmask/dump-unmasker.js';
import { VERSION } from '../version.js';
import { DumpMasker, type VaultSink } from './dump-masker.js';
import { MaskWorkers } from './parallel/worker-pool.js';
import { drive, type Input } from './drive.js';
import type { DumpProcessor, RawCopyInput, RunSummary } from './dump-processor.js';
import { secretForMask, secretForUnmask, wipeStrategySecret, type StrategySecret } from './strategy-secret.js';


export interface VaultTarget {
  path: string;
  keySource: KeySource;
  /** mask: build the vault at this path and leave it there for the caller to rename into place (see VaultWriterOptions). */
  stagingPath?: string | undefined;
  /** Mask: sign the vault with this Ed25519 key (`mask --sign-key`). */
  signKey?: SigningKey | undefined;
  /** Unmask: the vault must be signed by this Ed25519 public key (`--verify NAME.pub`). */
  verify?: Buffer | undefined;
}

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
/**
 * The same for unmask, which sends every batch to the workers (a chunk of input makes up to
 * eight): 4 measured 137-147 MB at 1 GiB, 2 131-133 MB, no slower.
 */
const UNMASK_PENDING_PER_WORKER = 2;

/** Mask workers for a run: threads - 1 (this thread masks too), none when nothing needs masking. */
function startWorkers(threads: number | undefined, options: MaskOptions, secret: Buffer | undefined): MaskWorkers | undefined {
  const n = (threads ?? 1) - 1;
  if (n < 1 || options.rules.tables.size === 0 || options.originals !== undefined || options.raw !== undefined) return undefined;
  return new MaskWorkers(n, secret);
}

/**
 * Where the digest's leaves are hashed when the run may use more than one thread: by the
 * mask workers between batches when there are any (the main thread bounds those runs; 1 GiB,
 * Odoo-style rules: 3.96 -> 3.46 s, no memory of its own), else (no rules: the main thread
 * does everything else) on a thread of its own, since WebCrypto would cost the main thread a
 * copy of every leaf (1 GiB, no rules: 2.5 -> 2.1 s).
 */
function digestOptions(threads: number | undefined, workers: MaskWorkers | undefined): DigestOptions {
  return { hasher: workers, thread: (threads ?? 1) > 1 };
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

export async function unmaskDump(options: UnmaskOptions): Promise<RunSummary> {
  await loadSqlParser();
  // The unmasker uses each record at once: the reader may decrypt each frame into the last one's memory.
  const reader = VaultReader.open(options.vault.path, options.vault.keySource, { reuseFrames: true, verify: options.vault.verify });
  let workers: MaskWorkers | undefined;
  let digest: StreamDigest | undefined;
  let secret: StrategySecret | undefined;
  try {
    const rulesText = reader.metadata['rules'];
    if (typeof rulesText !== 'string') throw new PgcloakError('VAULT_FORMAT', 'the vault does not record the rules it was made with');
    const rules = parseRules(rulesText);
    secret = secretForUnmask(reader.metadata, options.pseudonymKey, options.vault.keySource);
    const raw = reader.metadata['raw'];
    workers = (options.threads ?? 1) > 1 && rules.tables.size > 0 && raw === undefined ? new MaskWorkers(options.threads! - 1, secret?.key) : undefined;
    const inputDigest = streamDigest(reader.metadata['outputDigest'], digestOptions(options.threads, workers));
    digest = inputDigest;
    let unmasker: DumpUnmasker | undefined;
    const driver = drive(options.input, options.output, {
      maxPending: (workers?.size ?? 0) * UNMASK_PENDING_PER_WORKER,
      digest: { stream: inputDigest, of: 'input' },
      finish: async () => {
        unmasker!.checkVaultExhausted();
        if (reader.trailer?.['maskedDigest'] !== (await inputDigest.hex())) {
          throw new PgcloakError('VAULT_MISMATCH', 'the input is not the masked dump this vault was made for (its digest differs)');
        }
      },
    });
    unmasker = new DumpUnmasker(rules, driver.push, reader, workers, undefined, options.onWarning);
    unmasker.useStrategySecret(secret?.key, secret?.pseudonymVersion);
    if (raw !== undefined) unmasker.configureRawCopy(raw as RawCopyInput);
    options.onStart?.(unmasker);
    await driver.run(unmasker);
    return unmasker.summary();
  } finally {
    reader.close();
    await digest?.close();
    await workers?.close();
    wipeStrategySecret(secret);
  }
}
