// The command line: parses arguments, dispatches to commands/, and is the only place
// that turns errors into messages and exit codes.

import yargs from 'yargs';
import { EXIT_CODES, PgcloakError } from '../errors.js';
import { strategiesTable } from '../strategies/registry.js';
import { VERSION } from '../version.js';
import { keygenCommand } from './commands/keygen.js';
import { maskCommand } from './commands/mask.js';
import { unmaskCommand } from './commands/unmask.js';

const keyOptions = {
  'key-file': { type: 'string', describe: 'vault key file made by `pgcloak keygen`' },
  'passphrase-env': { type: 'string', describe: 'name of an environment variable holding a passphrase (Argon2id)' },
} as const;

const ioOptions = {
  input: { type: 'string', alias: 'i', describe: 'read the dump from this file (default: stdin)' },
  output: { type: 'string', alias: 'o', describe: 'write to this file, renamed into place on success (default: stdout)' },
  quiet: { type: 'boolean', alias: 'q', describe: 'no progress, no summary (warnings and errors still go to stderr)' },
  json: { type: 'boolean', describe: 'print the summary as JSON on stderr' },
} as const;

export async function main(argv: string[]): Promise<number> {
  try {
    await yargs(argv)
      .scriptName('pgcloak')
      .usage('$0 <command> [options]\n\nMask a PostgreSQL dump into typed placeholders, keep the originals in an encrypted vault, and reverse it.')
      .command(
        'mask',
        'mask a plain pg_dump: pg_dump db | pgcloak mask --rules R --vault V --key-file K > masked.sql',
        (y) =>
          y
            .options({
              rules: { type: 'string', alias: 'r', demandOption: true, describe: 'rules file (YAML)' },
              vault: { type: 'string', demandOption: true, describe: 'vault file for the originals (kept at home)' },
              strict: { type: 'boolean', describe: 'rules that match nothing in the dump are an error' },
              ...keyOptions,
              ...ioOptions,
            })
            .epilog(`Strategies:\n${strategiesTable()}`),
        async (a) => {
          await maskCommand({
            rules: a.rules,
            vault: a.vault,
            input: a.input,
            output: a.output,
            strict: a.strict,
            quiet: a.quiet,
            json: a.json,
            keyFile: a['key-file'],
            passphraseEnv: a['passphrase-env'],
          });
        },
      )
      .command(
        'unmask',
        'give back the original dump: pgcloak unmask --vault V --key-file K < masked.sql > original.sql',
        (y) =>
          y.options({
            vault: { type: 'string', demandOption: true, describe: 'the vault written by mask' },
            ...keyOptions,
            ...ioOptions,
          }),
        async (a) => {
          await unmaskCommand({
            vault: a.vault,
            input: a.input,
            output: a.output,
            quiet: a.quiet,
            json: a.json,
            keyFile: a['key-file'],
            passphraseEnv: a['passphrase-env'],
          });
        },
      )
      .command(
        'keygen',
        'write a new random vault key file (mode 0600)',
        (y) =>
          y.options({
            output: { type: 'string', alias: 'o', demandOption: true, describe: 'key file to create (never overwritten)' },
            quiet: ioOptions.quiet,
          }),
        (a) => keygenCommand({ output: a.output, quiet: a.quiet }),
      )
      .command('strategies', 'list the masking strategies', {}, () => {
        process.stdout.write(`${strategiesTable()}\n`);
      })
      .demandCommand(1, 'name a command: mask, unmask, keygen, strategies')
      .strict()
      .version(VERSION)
      .help()
      .alias('h', 'help')
      .wrap(Math.min(110, process.stdout.columns || 100))
      .fail((message, err) => {
        if (err) throw err;
        throw new PgcloakError('USAGE', message);
      })
      .parseAsync();
    return EXIT_CODES.OK;
  } catch (err) {
    if (err instanceof PgcloakError) {
      process.stderr.write(`pgcloak: ${err.message}\n`);
      if (err.code === 'USAGE') process.stderr.write('pgcloak: see pgcloak --help\n');
      return EXIT_CODES[err.code];
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EPIPE') return EXIT_CODES.IO;
    if (e.code === 'EEXIST' || e.code === 'ENOENT' || e.code === 'EACCES') {
      process.stderr.write(`pgcloak: IO: ${e.message}\n`);
      return EXIT_CODES.IO;
    }
    process.stderr.write(`pgcloak: internal error: ${e.stack ?? String(err)}\n`);
    return EXIT_CODES.INTERNAL;
  }
}
