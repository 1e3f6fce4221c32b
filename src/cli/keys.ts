// Turning key options into a KeySource: a key file, a passphrase from an environment
// variable (removed from the environment once read), a public key to seal a new vault to
// (--recipient) or the secret key that opens one (--identity), or a prompt when stdin is a
// terminal. The key itself is never printed; commands wipe the buffers (wipeKeySource) when done.

import { PgcloakError } from '../errors.js';
import { readKeyFile, readPublicKeyFile, readSecretKeyFile, type KeySource } from '../vault/key.js';

export interface KeyOptions {
  keyFile?: string | undefined;
  passphraseEnv?: string | undefined;
  recipient?: string | undefined;
  identity?: string | undefined;
}

export async function resolveKeySource(options: KeyOptions, confirm: boolean): Promise<KeySource> {
  const given = [
    options.keyFile !== undefined && '--key-file',
    options.passphraseEnv !== undefined && '--passphrase-env',
    options.recipient !== undefined && '--recipient',
    options.identity !== undefined && '--identity',
  ].filter((o) => o !== false);
  if (given.length > 1) throw new PgcloakError('USAGE', `give one key option, not ${given.join(' and ')}`);
  if (options.keyFile !== undefined) return { kind: 'key', key: readKeyFile(options.keyFile) };
  if (options.recipient !== undefined) return { kind: 'recipient', publicKey: readPublicKeyFile(options.recipient) };
  if (options.identity !== undefined) return { kind: 'identity', secretKey: readSecretKeyFile(options.identity) };
  if (options.passphraseEnv !== undefined) {
    const value = process.env[options.passphraseEnv];
    // Read once: child processes (pg_dump, psql, a shell) need not inherit it.
    delete process.env[options.passphraseEnv];
    if (value === undefined || value === '') {
      throw new PgcloakError('KEY_MISSING', `environment variable ${options.passphraseEnv} is not set or empty`);
    }
    return { kind: 'passphrase', passphrase: Buffer.from(value, 'utf8') };
  }
  if (process.stdin.isTTY) {
    const first = await promptHidden('vault passphrase: ');
    if (confirm && (await promptHidden('again: ')) !== first) throw new PgcloakError('KEY_MISSING', 'the passphrases differ');
    if (first === '') throw new PgcloakError('KEY_MISSING', 'empty passphrase');
    return { kind: 'passphrase', passphrase: Buffer.from(first, 'utf8') };
  }
  throw new PgcloakError(
    'KEY_MISSING',
    'no key: give --key-file FILE (see `pgcloak keygen`), --passphrase-env NAME, or a key pair (--recipient to mask, --identity to unmask)',
  );
}

/** The 32 bytes of a --pseudonym-key file (a key file made by `pgcloak keygen`), if given. */
export function readPseudonymKey(path: string | undefined): Buffer | undefined {
  return path === undefined ? undefined : readKeyFile(path);
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let answer = '';
    const onData = (data: Buffer): void => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(answer);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new PgcloakError('KEY_MISSING', 'interrupted'));
          return;
        }
        if (ch === '\u007f') answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}
