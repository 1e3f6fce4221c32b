// `pgcloak mask`: a plain dump in, the masked dump out, the originals into the vault. Its
// options (the builder) map onto maskDump's (../../mask/options.ts); the library itself is
// loaded when the command runs.
import type { Argv } from 'yargs';
import { PgcloakError } from '../../errors.js';
import type { RunSummary } from '../../engine/dump-processor.js';
import type { RawCopyInput } from '../../engine/raw-copy.js';
import type { RuleSet } from '../../rules/rules-file.js';
import { strategiesTable } from '../../strategies/registry.js';
import { wipeKeySource } from '../../vault/key.js';
import type { SigningKey } from '../../vault/signature.js';
import { sodium } from '../../sodium.js';
import { readPseudonymKey, readSignKey, resolveKeySource, type KeyOptions } from '../keys.js';
import { warn } from '../report.js';
import { readTextFile } from '../io.js';
import { RunFiles } from '../run-files.js';
import { runStreams, threadCount, type StreamArgs } from '../run-streams.js';
import { commandModule, ioOptions, pseudonymKeyOption, sealKeyOptions, threadsOption } from '../shared-options.js';

/** What mask reads besides plain dumps: raw COPY data of one table. */
const rawCopyOptions = {
  format: {
    choices: ['auto', 'plain', 'copy-text', 'copy-csv', 'copy-binary'] as const,
    default: 'auto' as const,
    describe: 'input form: a plain dump (auto, plain: COPY blocks and INSERT statements), or raw COPY TO STDOUT data of one table',
  },
  table: { type: 'string', describe: 'raw COPY data: the table it belongs to (as the rules name it)' },
  columns: { type: 'string', describe: 'raw COPY data: column names in order, comma-separated (else the CSV header or --schema)' },
  header: { type: 'boolean', describe: 'copy-csv: the first row names the columns' },
  delimiter: { type: 'string', default: ',', describe: 'copy-csv: field delimiter' },
  quote: { type: 'string', default: '"', describe: 'copy-csv: quote character' },
  schema: { type: 'string', describe: 'raw COPY data: a pg_dump --schema-only file giving column types' },
} as const;

const builder = (y: Argv) =>
  y
    .options({
      rules: { type: 'string', alias: 'r', demandOption: true, describe: 'rules file (YAML)' },
      vault: { type: 'string', demandOption: true, describe: 'new vault file for the originals (kept at home); an existing one is refused (VAULT_EXISTS) unless --force' },
      force: { type: 'boolean', describe: 'replace an existing --vault (it may be the only way back to a dump masked earlier); never a file the run reads' },
      strict: { type: 'boolean', describe: 'rules that match nothing in the dump are an error' },
      'require-coverage': {
        type: 'boolean',
        describe: 'columns that look personal by name or type (as inspect --suggest flags them) must be masked or keep, checked before their data',
      },
      'leak-check': { type: 'boolean', describe: 'after masking, look for the masked originals anywhere in the output (needs --output); finds fail the run' },
      'allow-leaks': { type: 'boolean', describe: 'with --leak-check: report finds but succeed' },
      'sign-key': { type: 'string', describe: 'sign the vault with this key (NAME from `pgcloak keygen --sign`), so that unmask --verify NAME.pub can tell it was made here' },
      threads: threadsOption('mask'),
      ...rawCopyOptions,
      ...sealKeyOptions,
      ...pseudonymKeyOption,
      ...ioOptions,
    })
    .epilog(`Strategies:\n${strategiesTable()}`);

export const maskCommandModule = commandModule(
  'mask',
  'mask a dump (COPY or INSERT form, or raw COPY data): pg_dump db | pgcloak mask --rules R --vault V --key-file K > masked.sql',
  builder,
  (a) =>
    maskCommand({
      rules: a.rules,
      vault: a.vault,
      force: a.force,
      input: a.input,
      output: a.output,
      strict: a.strict,
      quiet: a.quiet,
      json: a.json,
      keyFile: a['key-file'],
      passphraseEnv: a['passphrase-env'],
      recipient: a.recipient,
      identity: a.identity,
      pseudonymKey: a['pseudonym-key'],
      signKey: a['sign-key'],
      format: a.format,
      table: a.table,
      columns: a.columns,
      header: a.header,
      delimiter: a.delimiter,
      quote: a.quote,
      schema: a.schema,
      requireCoverage: a['require-coverage'],
      leakCheck: a['leak-check'],
      allowLeaks: a['allow-leaks'],
      threads: a.threads,
    }),
);

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
  const schemaText = args.schema === undefined ? undefined : readTextFile(args.schema, 'schema file');
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
async function refuseEmptyRules(text: string, path: string): Promise<void> {
  const { isMap, parseDocument } = await import('yaml');
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return; // parseRules reports them
  if (doc.contents === null) {
    throw new PgcloakError('RULES_INVALID', `${path} is empty or holds only comments: it would mask nothing. Write \`tables: {}\` to mask nothing on purpose`);
  }
  if (isMap(doc.contents) && doc.get('tables') == null) {
    throw new PgcloakError('RULES_INVALID', `${path}: no \`tables:\` with rules in it: it would mask nothing. Write \`tables: {}\` to mask nothing on purpose`);
  }
}

/** The coverage guard's failure (../../inspect/coverage-guard.ts) as --require-coverage's. */
function coverageByFlag(err: unknown): never {
  if (err instanceof PgcloakError && err.code === 'RULES_COVERAGE') throw new PgcloakError(err.code, `--require-coverage: ${err.detail}`, err.position);
  throw err;
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
  const rulesText = readTextFile(args.rules, 'rules file');
  await refuseEmptyRules(rulesText, args.rules);
  const { parseRules } = await import('../../rules/rules-file.js');
  const rules = parseRules(rulesText);
  if (args.strict && rules.tables.size === 0) {
    throw new PgcloakError('RULES_INVALID', `--strict: ${args.rules} names no table (tables: {}): nothing would be masked`);
  }
  const raw = rawCopyInput(args);
  if ((args.leakCheck || args.requireCoverage) && raw) {
    throw new PgcloakError('USAGE', '--leak-check and --require-coverage read a dump\'s DDL and SQL: not for raw COPY input (--format copy-text/copy-csv)');
  }
  const keySource = await resolveKeySource(args, true);
  let pseudonymKey: Buffer | undefined;
  let signKey: SigningKey | undefined;
  const checks = args.leakCheck || args.requireCoverage ? await import('./mask-checks.js') : undefined;
  const { maskDump } = await import('../../mask/run.js');
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
        }).catch(coverageByFlag),
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
