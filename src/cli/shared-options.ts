// The yargs options several commands take, written once: keys, the signer's key, the
// pseudonym key, input and output, threads. Each command's own options are in its file
// (commands/<name>.ts).

import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export const commonKeyOptions = {
  'key-file': { type: 'string', describe: 'vault key file made by `pgcloak keygen`' },
  'passphrase-env': { type: 'string', describe: 'name of an environment variable holding a passphrase (Argon2id)' },
} as const;

// Each side of a key pair is listed only where it is used; the other stays an option (hidden),
// so that giving it gets a message saying which one is meant rather than "unknown argument".
/** Key options of mask: what seals a new vault. */
export const sealKeyOptions = {
  ...commonKeyOptions,
  recipient: { type: 'string', describe: 'seal the vault to this public key (NAME.pub from `pgcloak keygen --public`); this host cannot read it back' },
  identity: { type: 'string', hidden: true },
} as const;

/** Key options of the commands that read a vault: what opens it. */
export const openKeyOptions = {
  ...commonKeyOptions,
  identity: { type: 'string', describe: 'the secret key a vault sealed with mask --recipient was sealed to' },
  recipient: { type: 'string', hidden: true },
} as const;

export const verifyOption = {
  verify: { type: 'string', describe: 'refuse the vault unless it is signed by this key (NAME.pub from `pgcloak keygen --sign`)' },
} as const;

export const pseudonymKeyOption = {
  'pseudonym-key': {
    type: 'string',
    describe:
      'key file (`pgcloak keygen`) that pseudonym and hash derive their key from, the same in every run, so pseudonyms match across dumps (default: --key-file, else a key made for this run and kept only in the vault). Whoever holds this file can invert every pseudonym and test guesses against hashes: it is as secret as the vault key for those columns',
  },
} as const;

export const ioOptions = {
  input: { type: 'string', alias: 'i', describe: 'read the dump from this file (default: stdin)' },
  output: { type: 'string', alias: 'o', describe: 'write to this file (mode 0600), renamed into place on success, replacing an existing file; never a file the run reads (default: stdout)' },
  quiet: { type: 'boolean', alias: 'q', describe: 'no progress, no summary (warnings and errors still go to stderr)' },
  json: { type: 'boolean', describe: 'print the summary as JSON on stderr' },
} as const;

export function threadsOption(verb: string) {
  return {
    type: 'number',
    describe: `threads that ${verb} rows (default: the CPU count; 1: all on the main thread); the output is the same byte for byte`,
  } as const;
}

/** A command for main.ts: its name, its help line, its yargs builder, and a handler given what the builder declares. */
export function commandModule<U>(
  command: string,
  describe: string,
  builder: (y: Argv) => Argv<U>,
  handler: (args: ArgumentsCamelCase<U>) => void | Promise<void>,
): CommandModule<object, U> {
  return { command, describe, builder, handler };
}
