// `pgcloak keygen`: a new random vault key in a file only its owner can read, or with
// --public a key pair: the secret key (mode 0600) and NAME.pub for `mask --recipient`.
import { generateKeyFile, generateKeyPair } from '../../vault/key.js';

export function keygenCommand(args: { output: string; public?: boolean | undefined; quiet?: boolean | undefined }): void {
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
