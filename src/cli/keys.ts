// Turning key options into a KeySource: a key file, a passphrase from an environment
// variable (removed from the environment once read), a public key to seal a new vault to
// (--recipient) or the secret key that opens one (--identity), or a prompt when stdin is a
// terminal. The key itself is never printed; commands wipe the buffers (wipeKeySource) when done.

import { statSync } from 'node:fs';
import { PgcloakError } from '../errors.js';
import { readKeyFile, readPublicKeyFile, readSecretKeyFile, readSigningKey, readVerifyKeyFile, type KeySource } from '../vault/key.js';
import { peekVaultSigner, signerFingerprint, type SigningKey } from '../vault/signature.js';
import { warn } from './report.js';

const OPENS_VAULTS = 'whoever can read it can open every vault made with it';

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
  if (options.keyFile !== undefined) {
    warnIfOthersCanRead(options.keyFile, 'key file', OPENS_VAULTS);
    return { kind: 'key', key: readKeyFile(options.keyFile) };
  }
  if (options.recipient !== undefined) return { kind: 'recipient', publicKey: readPublicKeyFile(options.recipient) };
  if (options.identity !== undefined) {
    warnIfOthersCanRead(options.identity, 'secret key (--identity)', OPENS_VAULTS);
    return { kind: 'identity', secretKey: readSecretKeyFile(options.identity) };
  }
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
  if (path === undefined) return undefined;
  warnIfOthersCanRead(path, 'pseudonym key', 'whoever can read it can test guesses of the originals against the pseudonyms and hashes');
  return readKeyFile(path);
}

/**
 * A secret anyone else on the host may read (permission bits for group or others, as ssh
 * checks a private key's): warned about, not refused, so that existing set-ups keep working.
 * keygen creates key files 0600.
 */
function warnIfOthersCanRead(path: string, what: string, risk: string): void {
  if (process.platform === 'win32') return;
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return; // reading it reports the problem
  }
  if ((mode & 0o077) === 0) return;
  const who = [mode & 0o070 && 'its group', mode & 0o007 && 'others'].filter((w) => typeof w === 'string').join(' and ');
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  warn(`${what} ${path} is open to ${who} (mode ${octal}): ${risk}. Run: chmod 600 ${path}`);
}

/** The Ed25519 key pair of a --sign-key file (`pgcloak keygen --sign`), if given. */
export function readSignKey(path: string | undefined): SigningKey | undefined {
  if (path === undefined) return undefined;
  warnIfOthersCanRead(path, 'signing key', 'whoever can read it can sign vaults that --verify accepts as made here');
  return readSigningKey(path);
}

/** The public key of a --verify file (NAME.pub of `pgcloak keygen --sign`), if given. */
export function readVerifyKey(path: string | undefined): Buffer | undefined {
  return path === undefined ? undefined : readVerifyKeyFile(path);
}

/**
 * Unmasking a recipient vault (opened with --identity) without --verify: anyone holding the
 * public key could have made the vault, so say that its originals are not authenticated.
 */
export function warnUnverifiedMaker(vault: string, keySource: KeySource, verify: Buffer | undefined): void {
  if (keySource.kind !== 'identity' || verify !== undefined) return;
  let signer: Buffer | undefined;
  try {
    signer = peekVaultSigner(vault);
  } catch {
    return; // opening the vault reports what is wrong with it
  }
  warn(
    signer === undefined
      ? 'this vault is sealed to a public key and not signed: anyone holding that public key could have made it, so nothing proves its originals are the ones masked at home (sign with mask --sign-key, check with --verify NAME.pub)'
      : `this vault is signed by key ${signerFingerprint(signer)}, but without --verify NAME.pub its maker is not authenticated`,
  );
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
