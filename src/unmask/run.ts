// Unmasking a masked dump as a run over streams: the vault opened first (its rules, key and
// raw COPY form are the run's), the unmasker driven over the input (../engine/drive.ts), and
// at the end the input checked to be the very dump the vault was made for.

import type { Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';
import { loadSqlParser } from '../schema/catalog.js';
import { parseRules } from '../rules/rules-file.js';
import { streamDigest, type StreamDigest } from '../vault/digest.js';
import { VaultReader } from '../vault/reader.js';
import { rowKernel } from '../engine/kernel-choice.js';
import { RowWorkers } from '../engine/workers/row-workers.js';
import { drive, type Input } from '../engine/drive.js';
import type { DumpProcessor, RawCopyInput, RunSummary } from '../engine/dump-processor.js';
import { digestOptions, type VaultTarget } from '../engine/run-options.js';
import { secretForUnmask, wipeStrategySecret, type StrategySecret } from '../engine/strategy-secret.js';
import { DumpUnmasker } from './dump-unmasker.js';

/**
 * The same for unmask, which sends every batch to the workers (a chunk of input makes up to
 * eight): 4 measured 137-147 MB at 1 GiB, 2 131-133 MB, no slower.
 */
const UNMASK_PENDING_PER_WORKER = 2;

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
  const reader = VaultReader.open(options.vault.path, options.vault.keySource, { reuseFrames: true, verify: options.vault.verify, skipper: rowKernel().recordSkipper });
  let workers: RowWorkers | undefined;
  let digest: StreamDigest | undefined;
  let secret: StrategySecret | undefined;
  try {
    const rulesText = reader.metadata['rules'];
    if (typeof rulesText !== 'string') throw new PgcloakError('VAULT_FORMAT', 'the vault does not record the rules it was made with');
    const rules = parseRules(rulesText);
    secret = secretForUnmask(reader.metadata, options.pseudonymKey, options.vault.keySource);
    const raw = reader.metadata['raw'];
    workers = (options.threads ?? 1) > 1 && rules.tables.size > 0 && raw === undefined ? new RowWorkers(options.threads! - 1, secret?.key) : undefined;
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
