// `pgcloak mask`: a plain dump in, the masked dump out, the originals into the vault.
import { WriteStream, createReadStream, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Readable, type Writable } from 'node:stream';
import type { Input } from '../../mask/drive.js';
import { pipeline } from 'node:stream/promises';
import { PgcloakError } from '../../errors.js';
import { CoverageGuard } from '../../inspect/coverage-guard.js';
import { SchemaFollower } from '../../inspect/schema-follower.js';
import { formatLeakReport } from '../../leaks/leak-report.js';
import { OriginalsCollector, OriginalsIndex, maskedColumnType } from '../../leaks/originals.js';
import { scanWithOriginals } from '../../leaks/scan.js';
import { maskDump, type MaskOptions } from '../../mask/run.js';
import type { RuleSet } from '../../rules/rules-file.js';
import { loadSqlParser } from '../../schema/catalog.js';
import type { RawCopyInput } from '../../mask/dump-processor.js';
import { parseRules } from '../../rules/rules-file.js';
import { readPseudonymKey, resolveKeySource, type KeyOptions } from '../keys.js';
import { warn } from '../report.js';
import { runStreams, type StreamArgs } from '../run-streams.js';
import { leaksFound } from './scan.js';

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
  const threads = args.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new PgcloakError('USAGE', '--threads must be a whole number from 1 to 64');
  if ((args.leakCheck || args.requireCoverage) && raw) {
    throw new PgcloakError('USAGE', '--leak-check and --require-coverage read a dump\'s DDL and SQL: not for raw COPY input (--format copy-text/copy-csv)');
  }
  if (args.leakCheck && args.output === undefined) {
    throw new PgcloakError('USAGE', '--leak-check reads the masked output again once it is complete: give --output FILE');
  }
  // The checks' stage reads DDL ahead of the masker, before maskDump has loaded the parser.
  if (args.leakCheck || args.requireCoverage) await loadSqlParser();
  const keySource = await resolveKeySource(args, true);
  const pseudonymKey = readPseudonymKey(args.pseudonymKey);
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
        ...maskChecks(rules, args, run.input, run.output),
      }),
    (result) => ({ vault: args.vault, vaultBytes: result.vaultBytes }),
  );
}

/** A chunk source as a Readable (its chunks copied: a stream stage may hold on to them). */
function asReadable(input: Input): Readable {
  if (input instanceof Readable) return input;
  return Readable.from(
    (async function* () {
      for (let c = await input.next(); c !== null; c = await input.next()) yield Buffer.from(c);
    })(),
    { objectMode: false },
  );
}

/**
 * --require-coverage and --leak-check: a stage ahead of the masker follows the schema (the
 * guard fails there, before the data of an uncovered table); the originals are gathered
 * as the vault receives them, and the output file is scanned for them once written,
 * before the vault is finished. An error leaves neither output nor vault behind.
 */
function maskChecks(rules: RuleSet, args: MaskArgs, source: Input, output: Writable): Partial<MaskOptions> {
  if (!args.requireCoverage && !args.leakCheck) return {};
  const input = asReadable(source);
  const follower = new SchemaFollower();
  if (args.requireCoverage) new CoverageGuard(follower, rules);
  const stage = follower.transform();
  // Errors reach the masker's pipeline through the stage; this promise only must not go unhandled.
  pipeline(input, stage).catch(() => undefined);
  const checks: Partial<MaskOptions> = { input: stage };
  if (!args.leakCheck) return checks;
  const index = new OriginalsIndex();
  checks.originals = new OriginalsCollector(index, (table, column, display) => maskedColumnType(follower.catalog, table, column, display));
  checks.beforeFinish = async () => {
    if (!(output instanceof WriteStream)) throw new Error('--leak-check without an output file');
    const report = await scanWithOriginals(createReadStream(String(output.path)), index);
    if (report.places.length > 0 || !args.quiet) process.stderr.write(formatLeakReport('mask --leak-check', report));
    if (report.places.length > 0 && !args.allowLeaks) throw leaksFound(report.places.length, report.finds);
  };
  return checks;
}
