// Unmasking a masked dump as a run over streams: the vault opened first (its rules, key and
// raw COPY form are the run's), the unmasker driven over the input (../engine/drive.ts), and
// at the end the input checked to be the very dump the vault was made for.

import { configOrThrow, OptionsError, PgcloakError, type Problem } from '../errors.js';
import { loadSqlParser } from '../schema/catalog.js';
import { parseRules } from '../rules/rules-file.js';
import { streamDigest, type StreamDigest } from '../vault/digest.js';
import { VaultReader } from '../vault/reader.js';
import { rowKernel } from '../engine/kernel-choice.js';
import { RowWorkers } from '../engine/workers/row-workers.js';
import { drive } from '../engine/drive.js';
import type { RunSummary } from '../engine/dump-processor.js';
import { normalizeRawCopy, type RawCopyConfig, type RawCopyInput } from '../engine/raw-copy.js';
import { digestOptions } from '../engine/run-options.js';
import { secretForUnmask, wipeStrategySecret, type StrategySecret } from '../engine/strategy-secret.js';
import { DumpUnmasker } from './dump-unmasker.js';
import { normalizeUnmaskOptions, type UnmaskOptions } from './options.js';

export type { UnmaskOptions } from './options.js';

/**
 * Batches out on the workers, per worker, before the input waits: fewer than masking's, since
 * unmask sends every batch to the workers (a chunk of input makes up to eight); two keep the
 * peak lower than four, no slower (bench/RESULTS.md, 2026-12-02, third session).
 */
const UNMASK_PENDING_PER_WORKER = 2;

/** Gives back the dump the vault's masked dump was made from. Options that cannot be used throw an OptionsError first (normalizeUnmaskOptions). */
export async function unmaskDump(unmaskOptions: UnmaskOptions): Promise<RunSummary> {
  const options = configOrThrow(normalizeUnmaskOptions(unmaskOptions));
  await loadSqlParser();
  // The unmasker uses each record at once: the reader may decrypt each frame into the last one's memory.
  const reader = VaultReader.open(options.vault.path, options.vault.keySource, { reuseFrames: true, verify: options.vault.verify, skipper: rowKernel().recordSkipper });
  let workers: RowWorkers | undefined;
  let digest: StreamDigest | undefined;
  let secret: StrategySecret | undefined;
  try {
    const rulesText = reader.metadata['rules'];
    if (typeof rulesText !== 'string') throw new PgcloakError('VAULT_FORMAT', 'the vault does not record the rules it was made with');
    const rules = parseRules(rulesText);
    secret = secretForUnmask(reader.metadata, options.pseudonymKey, options.vault.keySource);
    const raw = vaultRawCopy(reader.metadata['raw']);
    workers = options.threads > 1 && rules.tables.size > 0 && raw === undefined ? new RowWorkers(options.threads - 1, secret?.key) : undefined;
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
    unmasker = new DumpUnmasker(rules, driver.push, reader, { workers, onWarning: options.onWarning, secret: secret?.key, pseudonymVersion: secret?.pseudonymVersion, raw });
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

/** The raw COPY data the vault was made from, as masking was given it (its metadata's `raw`), if any: checked as masking checked it. */
function vaultRawCopy(recorded: unknown): RawCopyConfig | undefined {
  if (recorded === undefined) return undefined;
  const problems: Problem[] = [];
  const raw = normalizeRawCopy(recorded as RawCopyInput, 'raw', problems);
  if (!raw) throw new PgcloakError('VAULT_FORMAT', `the vault's raw COPY settings cannot be used: ${new OptionsError(problems).detail}`);
  return raw;
}
