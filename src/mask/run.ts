// Masking a dump as a run over streams: the vault opened before, the masker driven over the
// input (../engine/drive.ts), and the vault finished after (or removed, on any error).

import { configOrThrow, PgcloakError } from '../errors.js';
import { loadSqlParser } from '../schema/catalog.js';
import { TreeDigest, TREE_DIGEST } from '../vault/digest.js';
import { VaultWriter, type VaultSink } from '../vault/writer.js';
import { VERSION } from '../version.js';
import { DumpMasker } from './dump-masker.js';
import { RowWorkers } from '../engine/workers/row-workers.js';
import { drive } from '../engine/drive.js';
import type { RunSummary } from '../engine/dump-processor.js';
import { digestOptions } from '../engine/run-options.js';
import { normalizeMaskOptions, type MaskConfig, type MaskOptions } from './options.js';

export type { MaskOptions } from './options.js';
import { secretForMask, wipeStrategySecret, type StrategySecret } from '../engine/strategy-secret.js';


export interface MaskResult extends RunSummary {
  /** The digest of the masked output (sha256-tree-1MiB), as recorded in the vault. */
  outputDigest: string;
  vaultBytes: number;
}

/** Batches of rows out on the workers, per worker, before the input waits. */
const PENDING_PER_WORKER = 4;
/** Row workers for a run: threads - 1 (this thread masks too), none when nothing needs masking. */
function startWorkers(config: MaskConfig, secret: Buffer | undefined): RowWorkers | undefined {
  const n = config.threads - 1;
  if (n < 1 || config.rules.tables.size === 0 || config.originals !== undefined || config.raw !== undefined) return undefined;
  return new RowWorkers(n, secret);
}

/** Masks `options.input` into `options.output`, the originals into the vault. Options that cannot be used throw an OptionsError first (normalizeMaskOptions). */
export async function maskDump(options: MaskOptions): Promise<MaskResult> {
  const config = configOrThrow(normalizeMaskOptions(options));
  await loadSqlParser();
  const secret = secretForMask(config.rules, config.pseudonymKey, config.vault?.keySource);
  try {
    return await maskWithSecret(config, secret);
  } finally {
    wipeStrategySecret(secret);
  }
}

async function maskWithSecret(options: MaskConfig, secret: StrategySecret | undefined): Promise<MaskResult> {
  const vault = options.vault
    ? VaultWriter.create(options.vault.path, options.vault.keySource, {
        tool: 'pgcloak',
        version: VERSION,
        createdAt: new Date().toISOString(),
        inputFormat: options.raw?.format ?? 'plain',
        ...(options.raw ? { raw: options.raw.input } : {}),
        rulesDigest: options.rules.digest,
        /** How maskedDigest (in the trailer) is computed. */
        outputDigest: TREE_DIGEST,
        rules: options.rules.text,
        ...(secret ? { strategySecret: secret.record } : {}),
      }, { stagingPath: options.vault.stagingPath, signKey: options.vault.signKey })
    : undefined;
  // Sealed in the vault now: this string of a key made for the run goes with the next garbage collection.
  if (secret) delete secret.record.key;
  const workers = startWorkers(options, secret?.key);
  const digest = new TreeDigest(digestOptions(options.threads, workers));
  try {
    const driver = drive(options.input, options.output, { maxPending: (workers?.size ?? 0) * PENDING_PER_WORKER, digest: { stream: digest, of: 'output' } });
    const masker = new DumpMasker(options.rules, driver.push, teeVaultSink(vault, options.originals), { onWarning: options.onWarning, workers, secret: secret?.key, raw: options.raw, keyCheck: options.strict ? 'error' : 'warn' });
    options.follow?.(masker);
    options.onStart?.(masker);
    await driver.run(masker);
    const summary = masker.summary();
    if (options.strict && summary.notExisting.length > 0) {
      throw new PgcloakError('RULES_NOT_EXISTING', `\`strict\`: rules that match nothing in the dump:\n  ${summary.notExisting.join('\n  ')}`);
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
