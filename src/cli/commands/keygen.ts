// `pgcloak keygen`: a new random vault key in a file only its owner can read, or with
// --public a key pair: the secret key (mode 0600) and NAME.pub for `mask --recipient`, or
// with --sign a signing pair: NAME (mode 0600) for `mask --sign-key`, NAME.pub for --verify.
import type { Argv } from 'yargs';
import { PgcloakError } from '../../errors.js';
import { generateKeyPair, generateKeyFile, readVerifyKeyFile } from '../../vault/key.js';
import { signerFingerprint } from '../../vault/signature.js';
import { commandModule, ioOptions } from '../shared-options.js';

const builder = (y: Argv) =>
  y.options({
    output: { type: 'string', alias: 'o', demandOption: true, describe: 'key file to create (never overwritten)' },
    public: { type: 'boolean', describe: 'make a key pair: OUTPUT (secret, for unmask --identity) and OUTPUT.pub (for mask --recipient)' },
    sign: { type: 'boolean', describe: 'make a signing key pair: OUTPUT (secret, for mask --sign-key) and OUTPUT.pub (for --verify)' },
    quiet: ioOptions.quiet,
  });

export const keygenCommandModule = commandModule('keygen', 'write a new random vault key file (mode 0600), or with --public or --sign a key pair', builder, (a) =>
  keygenCommand({ output: a.output, public: a.public, sign: a.sign, quiet: a.quiet }),
);

export function keygenCommand(args: { output: string; public?: boolean | undefined; sign?: boolean | undefined; quiet?: boolean | undefined }): void {
  if (args.public && args.sign) throw new PgcloakError('USAGE', 'give --public (a key pair to seal vaults to) or --sign (a key pair to sign them), not both');
  if (args.sign) {
    const { secretPath, publicPath } = generateKeyPair(args.output, 'sign');
    if (!args.quiet) {
      const fingerprint = signerFingerprint(readVerifyKeyFile(publicPath));
      process.stderr.write(
        `pgcloak keygen: new signing key pair: ${secretPath} (secret, mode 0600: mask --sign-key; keep it as secret as a vault key) and ${publicPath} (--verify), key fingerprint ${fingerprint}\n`,
      );
    }
    return;
  }
  if (args.public) {
    const { secretPath, publicPath } = generateKeyPair(args.output);
    if (!args.quiet) {
      process.stderr.write(
        `pgcloak keygen: new key pair: ${secretPath} (secret, mode 0600: unmask --identity; keep it off the masking host) and ${publicPath} (mask --recipient)\n`,
      );
    }
    return;
  }
  generateKeyFile(args.output);
  if (!args.quiet) process.stderr.write(`pgcloak keygen: new key written to ${args.output} (mode 0600); keep it with the vault, never with the masked dump\n`);
}
