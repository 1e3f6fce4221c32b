// createMaskStream(): maskDump as a Node Duplex, for pipelines (issue 20; docs/library.md).
// The run is maskDump's own (./run.ts) over the stream's input and output (../engine/run-stream.ts);
// what this file adds is what the CLI's run files do for its vault (../cli/run-files.ts): the
// vault is built under a temporary name beside its path and renamed into place only when the
// stream ends successfully, never over an existing vault unless `force` says so, and the
// temporary file is removed on any error or destroy().

import { existsSync, linkSync, renameSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { PgcloakError } from '../errors.js';
import type { RawCopyInput } from '../engine/raw-copy.js';
import type { VaultTarget } from '../engine/run-options.js';
import { RunStream } from '../engine/run-stream.js';
import { syncDirectory } from '../io/sync-directory.js';
import { maskDump, type MaskOptions, type MaskResult } from './run.js';

/** Input forms: a plain SQL dump, or the raw data of one table's `COPY ... TO STDOUT`. */
export type MaskStreamFormat = 'sql' | 'copy-text' | 'copy-csv' | 'copy-binary';

export interface MaskStreamOptions extends Omit<MaskOptions, 'input' | 'output' | 'raw' | 'vault'> {
  /** Where the originals go; the vault appears at `path` only when the stream ends successfully. */
  vault?: Omit<VaultTarget, 'stagingPath' | 'verify'>;
  /** Replace an existing vault at vault.path (it may be the only way back to the originals of an earlier dump). */
  force?: boolean;
  /** Default 'sql'. The copy-* forms are raw COPY data of `table`, as `mask --format` reads them. */
  format?: MaskStreamFormat;
  /** Raw COPY data: the table, as rules name tables (`t`, `s.t`, `"S"."T"`). */
  table?: string;
  /** Raw COPY data: column names in data order; else the CSV header, or the schema's CREATE TABLE order. */
  columns?: string[];
  /** copy-csv: the first row names the columns. */
  header?: boolean;
  /** copy-csv: default ','. */
  delimiter?: string;
  /** copy-csv: default '"'. */
  quote?: string;
  /** Raw COPY data: a schema-only dump (pg_dump --schema-only) as text, for the columns' types; needed for copy-binary. */
  schemaText?: string;
}

export type MaskStream = RunStream<MaskResult>;

/** Temporary vault names of this process: two streams on one vault path never share one. */
let staged = 0;

/**
 * A Duplex: a dump (or raw COPY data) written in, the masked bytes read out. The vault is in
 * place and `summary` set by 'finish'; any failure is the one 'error', with no vault left.
 */
export function createMaskStream(options: MaskStreamOptions): MaskStream {
  const { vault, force, format, table, columns, header, delimiter, quote, schemaText, ...run } = options;
  const staging = vault ? `${vault.path}.tmp-${process.pid}-${++staged}` : undefined;
  return new RunStream<MaskResult>({
    name: 'mask',
    // A dump always holds statements (its SET lines at least); raw COPY data must hold a byte.
    inputHolds: (format ?? 'sql') === 'sql' ? 'statements' : 'bytes',
    run: async ({ input, output }) => {
      const raw = rawCopyInput(options);
      if (vault && !force && existsSync(vault.path)) throw vaultExists(vault.path);
      return maskDump({ ...run, input, output, raw, ...(vault ? { vault: { ...vault, stagingPath: staging } } : {}) });
    },
    commit: () => {
      if (vault && staging) commitVault(staging, vault.path, force ?? false);
    },
    discard: () => {
      if (staging) unlinkQuietly(staging);
    },
  });
}

/** `format` and the raw COPY options, checked as `mask --format` checks them (cli/commands/mask.ts). */
function rawCopyInput(options: MaskStreamOptions): RawCopyInput | undefined {
  const format = options.format ?? 'sql';
  if (format === 'sql') {
    for (const o of ['table', 'columns', 'schemaText', 'header'] as const) {
      if (options[o] !== undefined) throw new PgcloakError('USAGE', `${o} is for raw COPY data: give format 'copy-text', 'copy-csv' or 'copy-binary'`);
    }
    return undefined;
  }
  if (format !== 'copy-text' && format !== 'copy-csv' && format !== 'copy-binary') {
    throw new PgcloakError('USAGE', `format '${String(format)}': expected 'sql', 'copy-text', 'copy-csv' or 'copy-binary'`);
  }
  if (options.table === undefined) throw new PgcloakError('USAGE', `format '${format}' needs table`);
  if (options.header && format !== 'copy-csv') throw new PgcloakError('USAGE', "header is for format 'copy-csv'");
  return {
    format,
    table: options.table,
    columns: options.columns,
    header: options.header ?? false,
    delimiter: options.delimiter ?? ',',
    quote: options.quote ?? '"',
    schemaText: options.schemaText,
  };
}

/**
 * The finished vault put in place: without `force`, by a hard link that fails if a vault
 * appeared there meanwhile (a rename would replace it), then the temporary name removed.
 */
function commitVault(staging: string, path: string, force: boolean): void {
  try {
    if (force) {
      renameSync(staging, path);
      return;
    }
    try {
      linkSync(staging, path);
      unlinkQuietly(staging);
    } catch (err) {
      // A file system without hard links: checked, then renamed.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' || existsSync(path)) throw vaultExists(path);
      renameSync(staging, path);
    }
  } catch (err) {
    if (err instanceof PgcloakError) throw err;
    throw new PgcloakError('IO', `cannot put the vault in place at ${path} (${(err as Error).message}); nothing was replaced`);
  } finally {
    syncDirectory(dirname(path));
  }
}


function vaultExists(path: string): PgcloakError {
  return new PgcloakError(
    'VAULT_EXISTS',
    `vault ${path} exists already: it may be the only way back to the originals of a dump masked earlier. Give a new vault path, or force: true to replace it`,
  );
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already gone
  }
}
