// `pgcloak mask`: a plain dump in, the masked dump out, the originals into the vault.
import { readFileSync } from 'node:fs';
import { PgcloakError } from '../../errors.js';
import { maskDump } from '../../mask/run.js';
import { loadSqlParser } from '../../schema/catalog.js';
import type { RawCopyInput } from '../../mask/dump-processor.js';
import { parseRules, type RuleSet } from '../../rules/rules-file.js';
import { wipeKeySource, type KeySource } from '../../vault/key.js';
import { sodium } from '../../vault/sodium.js';
import { readPseudonymKey, resolveKeySource, type KeyOptions } from '../keys.js';
import { warn } from '../report.js';
import { runStreams, threadCount, type StreamArgs } from '../run-streams.js';

export interface MaskArgs extends KeyOptions, StreamArgs {
  rules: string;
  vault: string;
  strict?: boolean | undefined;
  pseudonymKey?: string | undefined;
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

export async function maskCommand(args: MaskArgs): Promise<void> {
  let rulesText: string;
  try {
    rulesText = readFileSync(args.rules, 'utf8');
  } catch {
    throw new PgcloakError('IO', `cannot read rules file ${args.rules}`);
  }
  const rules = parseRules(rulesText);
  const raw = rawCopyInput(args);
  const threads = threadCount(args.threads);
  if ((args.leakCheck || args.requireCoverage) && raw) {
    throw new PgcloakError('USAGE', '--leak-check and --require-coverage read a dump\'s DDL and SQL: not for raw COPY input (--format copy-text/copy-csv)');
  }
  if (args.leakCheck && args.output === undefined) {
    throw new PgcloakError('USAGE', '--leak-check reads the masked output again once it is complete: give --output FILE');
  }
  // The checks' stage reads DDL ahead of the masker, before maskDump has loaded the parser.
  if (args.leakCheck || args.requireCoverage) await loadSqlParser();
  const keySource = await resolveKeySource(args, true);
  let pseudonymKey: Buffer | undefined;
  try {
    pseudonymKey = readPseudonymKey(args.pseudonymKey);
    await maskWith(args, rules, raw, threads, keySource, pseudonymKey);
  } finally {
    wipeKeySource(keySource);
    if (pseudonymKey) sodium.sodium_memzero(pseudonymKey);
  }
}

async function maskWith(args: MaskArgs, rules: RuleSet, raw: RawCopyInput | undefined, threads: number, keySource: KeySource, pseudonymKey: Buffer | undefined): Promise<void> {
  const checks = args.leakCheck || args.requireCoverage ? await import('./mask-checks.js') : undefined;
  await runStreams(
    'mask',
    args,
    (run) =>
      maskDump({
        ...run,
        rules,
        vault: { path: args.vault, keySource },
        strict: args.strict ?? false,
        raw,
        pseudonymKey,
        onWarning: warn,
        threads,
        ...checks?.maskChecks(rules, args, run.input, run.output),
      }),
    (result) => ({ vault: args.vault, vaultBytes: result.vaultBytes }),
  );
}

