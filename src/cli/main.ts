// The command line: parses arguments, dispatches to commands/, and is the only place
// that turns errors into messages and exit codes.

import { setFlagsFromString } from 'node:v8';
import yargs from 'yargs';
import { EXIT_CODES, PgcloakError } from '../errors.js';
import { strategiesTable } from '../strategies/registry.js';
import { VERSION } from '../version.js';
// Commands are imported when run: a mask need not load the database client or the leak scanner.
import { readVerifyKey, resolveKeySource } from './keys.js';
import { removeTempFiles } from './run-files.js';
import { wipeKeySource } from '../vault/key.js';

const commonKeyOptions = {
  'key-file': { type: 'string', describe: 'vault key file made by `pgcloak keygen`' },
  'passphrase-env': { type: 'string', describe: 'name of an environment variable holding a passphrase (Argon2id)' },
} as const;

// Each side of a key pair is listed only where it is used; the other stays an option (hidden),
// so that giving it gets a message saying which one is meant rather than "unknown argument".
/** Key options of mask: what seals a new vault. */
const sealKeyOptions = {
  ...commonKeyOptions,
  recipient: { type: 'string', describe: 'seal the vault to this public key (NAME.pub from `pgcloak keygen --public`); this host cannot read it back' },
  identity: { type: 'string', hidden: true },
} as const;

/** Key options of the commands that read a vault: what opens it. */
const openKeyOptions = {
  ...commonKeyOptions,
  identity: { type: 'string', describe: 'the secret key a vault sealed with mask --recipient was sealed to' },
  recipient: { type: 'string', hidden: true },
} as const;

const verifyOption = {
  verify: { type: 'string', describe: 'refuse the vault unless it is signed by this key (NAME.pub from `pgcloak keygen --sign`)' },
} as const;

const pseudonymKeyOption = {
  'pseudonym-key': {
    type: 'string',
    describe:
      'key file (`pgcloak keygen`) that pseudonym and hash derive their key from, the same in every run, so pseudonyms match across dumps (default: --key-file, else a key made for this run and kept only in the vault). Whoever holds this file can invert every pseudonym and test guesses against hashes: it is as secret as the vault key for those columns',
  },
} as const;

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

const restoreOptions = {
  sql: { type: 'boolean', describe: 'write a SQL script that restores the originals inside a restored (and migrated) database, for psql -v ON_ERROR_STOP=1 -f' },
  db: { type: 'string', describe: 'restore the originals directly into this database (postgresql://user@host/dbname), in one transaction' },
  'by-key': { type: 'boolean', describe: 'the input is a dump of the migrated database: restore values by row key, not by position' },
  map: { type: 'string', describe: 'migration map (YAML): tables and columns renamed, converted or dropped since masking' },
  force: { type: 'boolean', describe: 'with --sql, --db, --by-key: also overwrite values edited since masking' },
  'dry-run': { type: 'boolean', describe: 'with --db or --sql: report what would change, then roll back' },
  'fire-triggers': { type: 'boolean', describe: "with --db or --sql: let the tables' own triggers fire on the restoring UPDATEs (default: switched off for them)" },
} as const;

const ioOptions = {
  input: { type: 'string', alias: 'i', describe: 'read the dump from this file (default: stdin)' },
  output: { type: 'string', alias: 'o', describe: 'write to this file (mode 0600), renamed into place on success, replacing an existing file; never a file the run reads (default: stdout)' },
  quiet: { type: 'boolean', alias: 'q', describe: 'no progress, no summary (warnings and errors still go to stderr)' },
  json: { type: 'boolean', describe: 'print the summary as JSON on stderr' },
} as const;

// libpg-query is WebAssembly. V8 compiles it quickly (Liftoff), then recompiles the functions
// that get hot with TurboFan on background threads; the process waits for those compiles when
// it exits (measured here: 125 ms after a tiny dump) and they take a core from the run while
// the schema is parsed (pagila's schema: 110 → 55 ms). The parser only ever sees DDL, a small
// part of any dump, so the quick code is the better deal. Set for the CLI's process only:
// the library leaves V8 as its host configured it.
setFlagsFromString('--liftoff-only');
// V8 doubles a heap's young generation when much of it survives a scavenge, and keeps it:
// over a 4 GiB unmask the main thread's heap went from 30 to 47 MB after 45 s (peak RSS 172
// MB; 155 MB with this). Not growing it cost no measurable time in heavy, INSERT-form or
// unmask runs (interleaved runs, 256 MiB). Read when a heap grows, so workers get it too.
setFlagsFromString('--semi-space-growth-factor=1');

function threadsOption(verb: string) {
  return {
    type: 'number',
    describe: `threads that ${verb} rows (default: the CPU count; 1: all on the main thread); the output is the same byte for byte`,
  } as const;
}

/**
 * yargs lays out a command's whole help text before running it, to show it if the command
 * fails (60–100 ms here, most of it measuring string widths); our fail handler never shows
 * help, so that layout is skipped. Through yargs' internal methods: if a version lacks them,
 * nothing changes but the time.
 */
function skipHelpCache(cli: unknown): void {
  const internal = (cli as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.();
  const usage = internal?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

/** Signals that stop a run, with their numbers: the exit code is 128 + the number, as a shell reports it. */
const STOP_SIGNALS = [
  ['SIGHUP', 1],
  ['SIGINT', 2],
  ['SIGTERM', 15],
] as const;

/**
 * A run stopped by a signal (Ctrl-C, `timeout`, a closed terminal) removes its temporary
 * files and the vault's lock: for unmask they hold originals (issue 18).
 */
function stopOnSignals(): void {
  for (const [signal, number] of STOP_SIGNALS) {
    process.once(signal, () => {
      const removed = removeTempFiles();
      process.stderr.write(`\npgcloak: stopped by ${signal}${removed > 0 ? ': its temporary files are removed, nothing was put in place' : ''}\n`);
      process.exit(128 + number);
    });
  }
}

let brokenPipeReported = false;

/** `pgcloak mask ... | head`: the reader stopped early. One line, exit IO, whenever it is noticed. */
function reportBrokenPipe(): number {
  if (!brokenPipeReported) {
    brokenPipeReported = true;
    process.stderr.write('pgcloak: IO: the output was closed before the end (EPIPE: whatever read it, such as head, stopped reading); the run stopped and put nothing in place\n');
  }
  return EXIT_CODES.IO;
}

/** stdout's errors after a command has written its last byte would otherwise end the process with a stack trace. */
function guardStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exitCode = reportBrokenPipe();
    else {
      process.stderr.write(`pgcloak: IO: cannot write standard output (${err.code ?? err.message})\n`);
      process.exitCode = EXIT_CODES.IO;
    }
  });
}

/**
 * An option that takes one value, given twice (`--vault a --vault b`): yargs makes it an
 * array, which would reach the command as a path "a,b", after all the work. Refused as
 * the arguments are read. Boolean flags given twice mean the same as once.
 */
function refuseRepeatedOptions(argv: Record<string, unknown>): void {
  const repeated = Object.entries(argv).filter(([name, value]) => name !== '_' && name !== '$0' && Array.isArray(value) && value.some((v) => typeof v !== 'boolean'));
  if (repeated.length === 0) return;
  // The long name as written (`key-file`), rather than an alias (`o`) or yargs' camel-case copy (`keyFile`).
  const [name, value] = repeated.find(([n]) => n.length > 1 && !/[A-Z]/.test(n)) ?? repeated[0]!;
  const values = value as unknown[];
  throw new PgcloakError('USAGE', `${name.length === 1 ? '-' : '--'}${name} is given ${values.length} times: it takes one value`);
}

export async function main(argv: string[]): Promise<number> {
  stopOnSignals();
  guardStdout();
  try {
    const cli = yargs(argv)
      .scriptName('pgcloak')
      .usage('$0 <command> [options]\n\nMask a PostgreSQL dump into typed placeholders, keep the originals in an encrypted vault, and reverse it.')
      .command(
        'mask',
        'mask a dump (COPY or INSERT form, or raw COPY data): pg_dump db | pgcloak mask --rules R --vault V --key-file K > masked.sql',
        (y) =>
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
            .epilog(`Strategies:\n${strategiesTable()}`),
        async (a) => {
          await (await import('./commands/mask.js')).maskCommand({
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
          });
        },
      )
      .command(
        'unmask',
        'give back the original dump: pgcloak unmask --vault V --key-file K < masked.sql > original.sql',
        (y) =>
          y.options({
            vault: { type: 'string', demandOption: true, describe: 'the vault written by mask' },
            threads: threadsOption('restore'),
            ...openKeyOptions,
            ...verifyOption,
            ...pseudonymKeyOption,
            ...restoreOptions,
            ...ioOptions,
          }),
        async (a) => {
          await (await import('./commands/unmask.js')).unmaskCommand({
            restore: { sql: a.sql, db: a.db, byKey: a['by-key'], map: a.map, force: a.force, dryRun: a['dry-run'], fireTriggers: a['fire-triggers'] },
            vault: a.vault,
            input: a.input,
            output: a.output,
            quiet: a.quiet,
            json: a.json,
            keyFile: a['key-file'],
            passphraseEnv: a['passphrase-env'],
            recipient: a.recipient,
            identity: a.identity,
            pseudonymKey: a['pseudonym-key'],
            verify: a.verify,
            threads: a.threads,
          });
        },
      )
      .command(
        'keygen',
        'write a new random vault key file (mode 0600), or with --public or --sign a key pair',
        (y) =>
          y.options({
            output: { type: 'string', alias: 'o', demandOption: true, describe: 'key file to create (never overwritten)' },
            public: { type: 'boolean', describe: 'make a key pair: OUTPUT (secret, for unmask --identity) and OUTPUT.pub (for mask --recipient)' },
            sign: { type: 'boolean', describe: 'make a signing key pair: OUTPUT (secret, for mask --sign-key) and OUTPUT.pub (for --verify)' },
            quiet: ioOptions.quiet,
          }),
        async (a) => (await import('./commands/keygen.js')).keygenCommand({ output: a.output, public: a.public, sign: a.sign, quiet: a.quiet }),
      )
      .command('vault', 'look into a vault: pgcloak vault info --vault V --key-file K', (y) =>
        y
          .command(
            'info',
            'print the history a vault carries: when, by which version, with which rules, tables and row counts, the masked dump digest',
            (z) =>
              z.options({
                vault: { type: 'string', demandOption: true, describe: 'the vault written by mask' },
                ...openKeyOptions,
                ...verifyOption,
                rules: { type: 'boolean', describe: 'print the rules file the vault was made with, too' },
                json: { type: 'boolean', describe: 'print it as one JSON object' },
              }),
            async (a) => {
              const keySource = await resolveKeySource({ keyFile: a['key-file'], passphraseEnv: a['passphrase-env'], recipient: a.recipient, identity: a.identity }, false);
              try {
                const verify = readVerifyKey(a.verify);
                (await import('./commands/vault-info.js')).vaultInfoCommand({ vault: a.vault, keySource, verify, rules: a.rules, json: a.json });
              } finally {
                wipeKeySource(keySource);
              }
            },
          )
          .demandCommand(1, 'name a vault command: info'),
      )
      .command(
        'inspect [dump]',
        'list the tables, columns, types, rows and sizes of a dump, the columns that look personal, and their state under --rules',
        (y) =>
          y
            .positional('dump', { type: 'string', describe: 'the dump (default: --input, else stdin)' })
            .options({
              input: ioOptions.input,
              rules: { type: 'string', alias: 'r', describe: 'show each column\'s state under this rules file, what matches nothing, and what is new since' },
              suggest: { type: 'string', describe: 'write a draft rules file for the columns that look personal to this new file' },
              sample: { type: 'number', describe: 'rows of each table whose values are sampled for e-mails, phones, IBANs, IPs (default 1000)' },
              json: { type: 'boolean', describe: 'print the listing as JSON' },
              quiet: ioOptions.quiet,
            }),
        async (a) => {
          if (a.dump !== undefined && a.input !== undefined) throw new PgcloakError('USAGE', 'give the dump once: as an argument or with --input');
          await (await import('./commands/inspect.js')).inspectCommand({ input: a.dump ?? a.input, rules: a.rules, suggest: a.suggest, sample: a.sample, json: a.json, quiet: a.quiet });
        },
      )
      .command(
        'scan [dump]',
        'look for the masked originals of a vault anywhere in a masked dump: pgcloak scan --vault V --key-file K masked.sql',
        (y) =>
          y
            .positional('dump', { type: 'string', describe: 'the masked dump (default: --input, else stdin)' })
            .options({
              vault: { type: 'string', demandOption: true, describe: 'the vault written by mask' },
              ...openKeyOptions,
              ...verifyOption,
              input: ioOptions.input,
              'allow-leaks': { type: 'boolean', describe: 'report finds but exit 0' },
              json: { type: 'boolean', describe: 'print the report as JSON' },
            }),
        async (a) => {
          if (a.dump !== undefined && a.input !== undefined) throw new PgcloakError('USAGE', 'give the dump once: as an argument or with --input');
          await (await import('./commands/scan.js')).scanCommand({
            vault: a.vault,
            input: a.dump ?? a.input,
            allowLeaks: a['allow-leaks'],
            json: a.json,
            keyFile: a['key-file'],
            passphraseEnv: a['passphrase-env'],
            recipient: a.recipient,
            identity: a.identity,
            verify: a.verify,
          });
        },
      )
      .command('strategies', 'list the masking strategies', {}, () => {
        process.stdout.write(`${strategiesTable()}\n`);
      })
      .demandCommand(1, 'name a command: mask, unmask, inspect, scan, keygen, vault, strategies')
      .middleware((a) => refuseRepeatedOptions(a), true)
      .strict()
      .version(VERSION)
      .help()
      .alias('h', 'help')
      // Help text is laid out on every run (yargs caches it before a command runs): wrapped only when asked for.
      .wrap(argv.includes('--help') || argv.includes('-h') ? Math.min(110, process.stdout.columns || 100) : null)
      .fail((message, err) => {
        if (err) throw err;
        throw new PgcloakError('USAGE', message);
      });
    skipHelpCache(cli);
    await cli.parseAsync();
    return EXIT_CODES.OK;
  } catch (err) {
    if (err instanceof PgcloakError) {
      process.stderr.write(`pgcloak: ${err.message}\n`);
      if (err.code === 'USAGE') process.stderr.write('pgcloak: see pgcloak --help\n');
      return EXIT_CODES[err.code];
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EPIPE') return reportBrokenPipe();
    // A failed system call (a file that cannot be opened, a disk that is full): its message names the call and the path, never file content.
    if (typeof e.code === 'string' && typeof e.syscall === 'string') {
      process.stderr.write(`pgcloak: IO: ${e.message}\n`);
      return EXIT_CODES.IO;
    }
    process.stderr.write(`pgcloak: internal error: ${e.stack ?? String(err)}\n`);
    return EXIT_CODES.INTERNAL;
  }
}
