// Turning key options into a KeySource: a key file, a passphrase from an environment
// variable, or a prompt when stdin is a terminal. The key itself is never printed.

import { PgcloakError } from '../errors.js';
import { readKeyFile, type KeySource } from '../vault/key.js';

export interface KeyOptions {
  keyFile?: string | undefined;
  passphraseEnv?: string | undefined;
}

export async function resolveKeySource(options: KeyOptions, confirm: boolean): Promise<KeySource> {
  if (options.keyFile !== undefined && options.passphraseEnv !== undefined) {
    throw new PgcloakError('USAGE', 'give either --key-file or --passphrase-env, not both');
  }
  if (options.keyFile !== undefined) return { kind: 'key', key: readKeyFile(options.keyFile) };
  if (options.passphraseEnv !== undefined) {
    const value = process.env[options.passphraseEnv];
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
  throw new PgcloakError('KEY_MISSING', 'no key: give --key-file FILE (see `pgcloak keygen`) or --passphrase-env NAME');
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
