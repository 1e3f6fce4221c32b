// `pgcloak mask`: a plain dump in, the masked dump out, the originals into the vault.
import { readFileSync } from 'node:fs';
import { isMap, parseDocument } from 'yaml';
import { PgcloakError } from '../../errors.js';
import { maskDump } from '../../mask/run.js';
import { loadSqlParser } from '../../schema/catalog.js';
import type { RawCopyInput, RunSummary } from '../../engine/dump-processor.js';
import { parseRules, type RuleSet } from '../../rules/rules-file.js';
import { wipeKeySource } from '../../vault/key.js';
import type { SigningKey } from '../../vault/signature.js';
import { sodium } from '../../sodium.js';
import { readPseudonymKey, readSignKey, resolveKeySource, type KeyOptions } from '../keys.js';
import { warn } from '../report.js';
import { RunFiles } from '../run-files.js';
import { runStreams, threadCount, type StreamArgs } from '../run-streams.js';

export interface MaskArgs extends KeyOptions, StreamArgs {
  rules: string;
  vault: string;
  /** Replace an existing vault (never a file the run reads or writes otherwise). */
  force?: boolean | undefined;
  strict?: boolean | undefined;
  pseudonymKey?: string | undefined;
  /** A signing key file (`keygen --sign`) to sign the vault with. */
  signKey?: string | undefined;
  /** Personal-looking columns (by name and type) must be masked or kept. */
  requireCoverage?: boolean | undefined;
  /** Look for the masked originals in the written output; finds are an error unless allowLeaks. */
  leakCheck?: boolean | undefined;
  allowLeaks?: boolean | undefined;
  format?: 'auto' | 'plain' | 'copy-text' | 'copy-csv' | 'copy-binary' | undefined;
  table?: string | undefined;
  columns?: string | undefined;
  header?: boolean | undefined;
  delimiter?: string | undefined;
  quote?: string | undefined;
  schema?: string | undefined;
  /** Threads that mask rows; default: the CPU count. */
  threads?: number | undefined;
}

/** --format copy-text|copy-csv and their options, checked. */
function rawCopyInput(args: MaskArgs): RawCopyInput | undefined {
  const format = args.format ?? 'auto';
  if (format === 'auto' || format === 'plain') {
    for (const o of ['table', 'columns', 'schema', 'header'] as const) {
      if (args[o] !== undefined) throw new PgcloakError('USAGE', `--${o} is for raw COPY data: give --format copy-text or copy-csv`);
    }
    return undefined;
  }
  if (args.table === undefined) throw new PgcloakError('USAGE', `--format ${format} needs --table NAME`);
  if (args.header && format !== 'copy-csv') throw new PgcloakError('USAGE', '--header is for --format copy-csv');
  let schemaText: string | undefined;
  if (args.schema !== undefined) {
    try {
      schemaText = readFileSync(args.schema, 'utf8');
    } catch {
      throw new PgcloakError('IO', `cannot read schema file ${args.schema}`);
    }
  }
  return {
    format,
    table: args.table,
    columns: args.columns?.split(',').map((c) => c.trim()),
    header: args.header ?? false,
    delimiter: args.delimiter ?? ',',
    quote: args.quote ?? '"',
    schemaText,
  };
}

/**
 * A rules file with nothing in it (empty, only comments, or no `tables:`) is a mistake, not
 * a run that masks nothing: that is written `tables: {}` (issue 18).
 */
function refuseEmptyRules(text: string, path: string): void {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return; // parseRules reports them
  if (doc.contents === null) {
    throw new PgcloakError('RULES_INVALID', `${path} is empty or holds only comments: it would mask nothing. Write \`tables: {}\` to mask nothing on purpose`);
  }
  if (isMap(doc.contents) && doc.get('tables') == null) {
    throw new PgcloakError('RULES_INVALID', `${path}: no \`tables:\` with rules in it: it would mask nothing. Write \`tables: {}\` to mask nothing on purpose`);
  }
}

/** Why nothing was masked, when no column of the dump was: said loudly, the output is the input. */
function nothingMasked(rules: RuleSet, summary: RunSummary): string | undefined {
  if (summary.tables.some((t) => t.maskedColumns.length > 0)) return undefined;
  if (rules.tables.size === 0) return 'the rules name no table (tables: {})';
  if (summary.notExisting.length > 0) return 'no rule matched a column of the dump (see "not existing")';
  return 'no masking rule applied to a column of the dump';
}

export async function maskCommand(args: MaskArgs): Promise<void> {
  const threads = threadCount(args.threads);
  if (args.leakCheck && args.output === undefined) {
    throw new PgcloakError('USAGE', '--leak-check reads the masked output again once it is complete: give --output FILE');
  }
  const files = RunFiles.prepare({
    output: args.output,
    vault: { path: args.vault, force: args.force ?? false },
    reads: [
      { option: '--input', path: args.input },
      { option: '--rules', path: args.rules },
      { option: '--key-file', path: args.keyFile },
      { option: '--recipient', path: args.recipient },
      { option: '--identity', path: args.identity },
      { option: '--pseudonym-key', path: args.pseudonymKey },
      { option: '--schema', path: args.schema },
      { option: '--sign-key', path: args.signKey },
    ],
    readsStdin: args.input === undefined,
  });
  try {
    await maskWith(args, files, threads);
  } finally {
    files.abort();
  }
}

async function maskWith(args: MaskArgs, files: RunFiles, threads: number): Promise<void> {
  let rulesText: string;
  try {
    rulesText = readFileSync(args.rules, 'utf8');
  } catch {
    throw new PgcloakError('IO', `cannot read rules file ${args.rules}`);
  }
  refuseEmptyRules(rulesText, args.rules);
  const rules = parseRules(rulesText);
  if (args.strict && rules.tables.size === 0) {
    throw new PgcloakError('RULES_INVALID', `--strict: ${args.rules} names no table (tables: {}): nothing would be masked`);
  }
  const raw = rawCopyInput(args);
  if ((args.leakCheck || args.requireCoverage) && raw) {
    throw new PgcloakError('USAGE', '--leak-check and --require-coverage read a dump\'s DDL and SQL: not for raw COPY input (--format copy-text/copy-csv)');
  }
  // The checks' stage reads DDL ahead of the masker, before maskDump has loaded the parser.
  if (args.leakCheck || args.requireCoverage) await loadSqlParser();
  const keySource = await resolveKeySource(args, true);
  let pseudonymKey: Buffer | undefined;
  let signKey: SigningKey | undefined;
  const checks = args.leakCheck || args.requireCoverage ? await import('./mask-checks.js') : undefined;
  let nothing: string | undefined;
  try {
    pseudonymKey = readPseudonymKey(args.pseudonymKey);
    signKey = readSignKey(args.signKey);
    const secrets = { pseudonymKey, signKey };
    await runStreams({
      command: 'mask',
      args,
      files,
      // A dump always holds statements (its SET lines at least); raw COPY data must hold a byte.
      inputHolds: raw ? 'bytes' : 'statements',
      body: (run) =>
        maskDump({
          ...run,
          rules,
          vault: { path: args.vault, keySource, stagingPath: files.vaultStaging, signKey: secrets.signKey },
          strict: args.strict ?? false,
          raw,
          pseudonymKey: secrets.pseudonymKey,
          onWarning: warn,
          threads,
          ...checks?.maskChecks(rules, args, run.output),
        }),
      vaultBytes: (result) => result.vaultBytes,
      afterCommit: (result) => {
        nothing = nothingMasked(rules, result);
        if (nothing === undefined) return;
        // Through the one warning path: shown now, listed in the summary and in --json.
        const message = `nothing was masked: ${nothing}; the output is the input, unchanged`;
        result.warnings.push(message);
        warn(message);
      },
      extras: (result) => ({ vault: args.vault, vaultBytes: result.vaultBytes, ...(nothing !== undefined ? { nothingMasked: nothing } : {}) }),
    });
  } finally {
    wipeKeySource(keySource);
    if (pseudonymKey) sodium.sodium_memzero(pseudonymKey);
    if (signKey) sodium.sodium_memzero(signKey.secretKey);
  }
}
