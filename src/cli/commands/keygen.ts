// `pgcloak keygen`: a new random vault key in a file only its owner can read.
import { generateKeyFile } from '../../vault/key.js';

export function keygenCommand(args: { output: string; quiet?: boolean | undefined }): void {
  generateKeyFile(args.output);
  if (!args.quiet) process.stderr.write(`pgcloak keygen: new key written to ${args.output} (mode 0600); keep it with the vault, never with the masked dump\n`);
}
