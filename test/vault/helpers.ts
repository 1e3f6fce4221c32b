// Shared by the vault tests: temp dirs, sample vaults, reading a vault whole, error checks.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { PgcloakError, type ErrorCode } from '../../src/errors.js';
import type { TableDecl } from '../../src/vault/format.js';
import type { KeySource } from '../../src/vault/key.js';
import { VaultReader, type VaultRecord } from '../../src/vault/reader.js';
import { sodium } from '../../src/sodium.js';
import { VaultWriter, type FieldRef } from '../../src/vault/writer.js';

const dirs: string[] = [];

export function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgcloak-vault-test-'));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function randomKey(): Buffer {
  const key = Buffer.alloc(32);
  sodium.randombytes_buf(key);
  return key;
}

export function keySource(key: Buffer): KeySource {
  return { kind: 'key', key };
}

/** Argon2id at its minimum cost, so passphrase tests stay fast. */
export function passphraseSource(passphrase: string): KeySource {
  return {
    kind: 'passphrase',
    passphrase: Buffer.from(passphrase, 'utf8'),
    opslimit: sodium.crypto_pwhash_OPSLIMIT_MIN,
    memlimit: sodium.crypto_pwhash_MEMLIMIT_MIN,
  };
}

export interface SampleRow {
  tableIndex: number;
  ordinal: number;
  fields: Buffer[];
}

export interface SampleVault {
  metadata: Record<string, unknown>;
  tables: TableDecl[];
  rows: SampleRow[];
  trailer: Record<string, unknown>;
}

/** Writes the sample, rows after all table declarations, and returns the writer's byte count. */
export function writeVault(path: string, source: KeySource, sample: SampleVault): number {
  const writer = VaultWriter.create(path, source, sample.metadata);
  for (const decl of sample.tables) writer.declareTable(decl);
  for (const row of sample.rows) {
    const refs: FieldRef[] = row.fields.map((buf) => ({ buf, start: 0, end: buf.length }));
    writer.row(row.tableIndex, row.ordinal, refs);
  }
  writer.finish(sample.trailer);
  return writer.bytesWritten;
}

export interface VaultContent {
  mode: VaultReader['mode'];
  metadata: Record<string, unknown>;
  records: VaultRecord[];
  trailer: Record<string, unknown> | undefined;
}

export function readWholeVault(path: string, source: KeySource): VaultContent {
  const reader = VaultReader.open(path, source);
  try {
    const records: VaultRecord[] = [];
    for (let record = reader.next(); record !== null; record = reader.next()) records.push(record);
    expect(reader.next()).toBeNull();
    return { mode: reader.mode, metadata: reader.metadata, records, trailer: reader.trailer };
  } finally {
    reader.close();
  }
}

/** The records a correct reader returns for the sample. */
export function expectedRecords(sample: SampleVault): VaultRecord[] {
  return [
    ...sample.tables.map((decl): VaultRecord => ({ type: 'table', decl })),
    ...sample.rows.map((row): VaultRecord => ({ type: 'row', ...row })),
  ];
}

/** Runs fn, which must throw a PgcloakError with one of the codes; returns the error. */
export function expectVaultError(fn: () => unknown, codes: readonly ErrorCode[]): PgcloakError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected an error').toBeInstanceOf(PgcloakError);
  const error = thrown as PgcloakError;
  expect(codes).toContain(error.code);
  return error;
}

/** File offsets of the frames after a header of headerBytes bytes: [start, end) of each. */
export function frameBounds(file: Buffer, headerBytes: number): Array<{ start: number; end: number }> {
  const frames: Array<{ start: number; end: number }> = [];
  for (let pos = headerBytes; pos < file.length; ) {
    const end = pos + 4 + file.readUInt32LE(pos);
    frames.push({ start: pos, end });
    pos = end;
  }
  return frames;
}
