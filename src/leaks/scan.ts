// The leak scan as a run: a masked dump streamed through the LeakScanner, with the
// originals read from the vault that masking wrote. Used by `pgcloak scan` and by
// `pgcloak mask --leak-check` (over the output it has just written).

import type { Readable } from 'node:stream';
import { loadSqlParser } from '../schema/catalog.js';
import { streamDigest } from '../vault/digest.js';
import type { KeySource } from '../vault/key.js';
import { VaultReader } from '../vault/reader.js';
import { LeakScanner, type LeakReport } from './leak-scanner.js';
import { OriginalsIndex, indexOriginals } from './originals.js';

export interface LeakScanOptions {
  /** The masked dump. */
  input: Readable;
  vaultPath: string;
  keySource: KeySource;
  /** The Ed25519 public key that must have signed the vault (`--verify`). */
  verify?: Buffer | undefined;
}

export interface LeakScanResult extends LeakReport {
  /** Whether the input is the masked dump the vault records (its BLAKE2b digest). */
  vaultMatchesInput: boolean;
}

export async function scanForLeaks(options: LeakScanOptions): Promise<LeakScanResult> {
  await loadSqlParser();
  // Opened first: a wrong key fails before the dump is read.
  const reader = VaultReader.open(options.vaultPath, options.keySource, { verify: options.verify });
  try {
    const scanner = new LeakScanner((catalog) => {
      const index = new OriginalsIndex();
      indexOriginals(reader, catalog, index);
      return index;
    });
    const digest = streamDigest(reader.metadata['outputDigest']);
    for await (const chunk of options.input) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      digest.update(buf);
      scanner.write(buf);
      await digest.settle(4);
    }
    scanner.end();
    const report = scanner.report();
    return { ...report, vaultMatchesInput: reader.trailer?.['maskedDigest'] === (await digest.hex()) };
  } finally {
    reader.close();
  }
}

/** Scans a masked dump for originals already gathered (by `mask --leak-check`, while masking). */
export async function scanWithOriginals(input: Readable, index: OriginalsIndex): Promise<LeakReport> {
  await loadSqlParser();
  const scanner = new LeakScanner(() => index);
  for await (const chunk of input) scanner.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  scanner.end();
  return scanner.report();
}
