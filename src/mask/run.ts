// Masking and unmasking as stream pipelines: the synchronous cores above, wrapped in
// a Transform; the vault opened before and finished (or removed) after.

import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PgcloakError } from '../errors.js';
import { loadSqlParser } from '../schema/catalog.js';
import { parseRules, type RuleSet } from '../rules/rules-file.js';
import { OutputDigest } from '../vault/digest.js';
import type { KeySource } from '../vault/key.js';
import { VaultReader } from '../vault/reader.js';
import { VaultWriter } from '../vault/writer.js';
import { DumpUnmasker } from '../unmask/dump-unmasker.js';
import { VERSION } from '../version.js';
import { DumpMasker, type VaultSink } from './dump-masker.js';
import type { DumpProcessor, RawCopyInput, RunSummary } from './dump-processor.js';
import { secretForMask, secretForUnmask } from './strategy-secret.js';


export interface VaultTarget {
  path: string;
  keySource: KeySource;
}

export interface MaskOptions {
  input: Readable;
  output: Writable;
  rules: RuleSet;
  /** Omit only for a dry look at what would be masked: the originals are then lost. */
  vault?: VaultTarget;
  /** Rules that match nothing are an error instead of a report. */
  strict?: boolean;
  /** The input is raw COPY data of one table, not a dump. */
  raw?: RawCopyInput | undefined;
  /** 32 bytes that pseudonym and hash derive their secret from; default: the vault's key file. */
  pseudonymKey?: Buffer | undefined;
  onWarning?: (message: string) => void;
  /** Called with the processor once it exists, e.g. to poll progress. */
  onStart?: (processor: DumpProcessor) => void;
  /** Also receives every table declaration and row the vault does (`mask --leak-check` gathers the originals). */
  originals?: VaultSink;
  /** Runs once the output is complete, before the vault is finished; if it throws, the vault is removed. */
  beforeFinish?: () => Promise<void>;
}

export interface MaskResult extends RunSummary {
  /** BLAKE2b-512 of the masked output, as recorded in the vault. */
  outputDigest: string;
  vaultBytes: number;
}

/**
 * The synchronous core as a Transform. `core` is read lazily because the core pushes
 * into this very Transform. `finish` runs after the core's end(), before the flush completes.
 */
function coreTransform(core: () => DumpProcessor, onChunk?: (chunk: Buffer) => void, finish?: () => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        onChunk?.(chunk);
        core().write(chunk);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback) {
      try {
        core().end();
        finish?.();
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}

export async function maskDump(options: MaskOptions): Promise<MaskResult> {
  await loadSqlParser();
  const digest = new OutputDigest();
  const secret = secretForMask(options.rules, options.pseudonymKey, options.vault?.keySource);
  const vault = options.vault
    ? VaultWriter.create(options.vault.path, options.vault.keySource, {
        tool: 'pgcloak',
        version: VERSION,
        createdAt: new Date().toISOString(),
        inputFormat: options.raw?.format ?? 'plain',
        ...(options.raw ? { raw: options.raw } : {}),
        rulesDigest: options.rules.digest,
        rules: options.rules.text,
        ...(secret ? { strategySecret: secret.record } : {}),
      })
    : undefined;
  try {
    let masker: DumpMasker | undefined;
    const transform = coreTransform(() => masker!);
    masker = new DumpMasker(
      options.rules,
      (chunk) => {
        digest.update(chunk);
        transform.push(chunk);
      },
      teeVaultSink(vault, options.originals),
      options.onWarning,
    );
    masker.useStrategySecret(secret?.key);
    // Inside the try: a bad raw COPY configuration must not leave a vault behind.
    if (options.raw) masker.configureRawCopy(options.raw);
    options.onStart?.(masker);
    await pipeline(options.input, transform, options.output);
    const summary = masker.summary();
    if (options.strict && summary.notExisting.length > 0) {
      throw new PgcloakError('RULES_NOT_EXISTING', `--strict: rules that match nothing in the dump:\n  ${summary.notExisting.join('\n  ')}`);
    }
    await options.beforeFinish?.();
    const outputDigest = digest.hex();
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
    vault?.abort();
    throw err;
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
  };
}

export interface UnmaskOptions {
  input: Readable;
  output: Writable;
  vault: VaultTarget;
  /** The pseudonym key masking was given, if it was given one. */
  pseudonymKey?: Buffer | undefined;
  onStart?: (processor: DumpProcessor) => void;
}

export async function unmaskDump(options: UnmaskOptions): Promise<RunSummary> {
  await loadSqlParser();
  const reader = VaultReader.open(options.vault.path, options.vault.keySource);
  try {
    const rulesText = reader.metadata['rules'];
    if (typeof rulesText !== 'string') throw new PgcloakError('VAULT_FORMAT', 'the vault does not record the rules it was made with');
    const rules = parseRules(rulesText);
    const secret = secretForUnmask(reader.metadata, options.pseudonymKey, options.vault.keySource);
    const digest = new OutputDigest();
    let unmasker: DumpUnmasker | undefined;
    const transform = coreTransform(
      () => unmasker!,
      (chunk) => digest.update(chunk),
      () => {
        unmasker!.checkVaultExhausted();
        if (reader.trailer?.['maskedDigest'] !== digest.hex()) {
          throw new PgcloakError('VAULT_MISMATCH', 'the input is not the masked dump this vault was made for (its BLAKE2b digest differs)');
        }
      },
    );
    unmasker = new DumpUnmasker(rules, (chunk) => transform.push(chunk), reader);
    unmasker.useStrategySecret(secret);
    const raw = reader.metadata['raw'];
    if (raw !== undefined) unmasker.configureRawCopy(raw as RawCopyInput);
    options.onStart?.(unmasker);
    await pipeline(options.input, transform, options.output);
    return unmasker.summary();
  } finally {
    reader.close();
  }
}
