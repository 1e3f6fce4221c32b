// Where a vault's 32-byte stream key comes from: a key file made by `pgcloak keygen`, a
// passphrase stretched with Argon2id (https://doc.libsodium.org/password_hashing/default_phf), or,
// for a recipient vault, a random key sealed to an X25519 public key and opened with its secret
// key (https://doc.libsodium.org/public-key_cryptography/sealed_boxes).
//
// Key files are one line, `<prefix><standard base64 of 32 bytes>\n`:
//   pgcloak-key-v1:     a vault key (`pgcloak keygen`), mode 0600; also a --pseudonym-key
//   pgcloak-secret-v1:  an X25519 secret key (`pgcloak keygen --public`), mode 0600: --identity
//   pgcloak-public-v1:  its public key (NAME.pub), for mask --recipient
//   pgcloak-sign-secret-v1:  an Ed25519 seed (`pgcloak keygen --sign`), mode 0600: mask --sign-key
//   pgcloak-sign-public-v1:  its public key (NAME.pub), for --verify
// The version prefix lets a later key format be told apart, keeps a stray file from being taken
// as a key, and lets a reader say which option a key of the wrong kind belongs to.
//
// The base64 text of a key passes through JavaScript strings, which cannot be wiped; the
// buffers that hold key bytes are wiped once used.

import { closeSync, fchmodSync, fsyncSync, openSync, readSync } from 'node:fs';
import { PgcloakError } from '../errors.js';
import {
  SALT_BYTES,
  SEALED_KEY_BYTES,
  STREAM_KEY_BYTES,
  kdfParamsInRange,
  type KdfParams,
  type VaultHeader,
} from './format.js';
import { closeQuietly, errnoCode, ioError, unlinkQuietly, writeFully } from './io.js';
import type { SigningKey } from './signature.js';
import { sodium } from '../sodium.js';
import { BYTE } from '../io/byte-codes.js';

const { NL, CR } = BYTE;

export const KEY_BYTES = 32;

export type KeySource =
  | { kind: 'key'; key: Buffer }
  | { kind: 'passphrase'; passphrase: Buffer; opslimit?: number; memlimit?: number }
  /** Writing only: seal the vault's key to this X25519 public key. */
  | { kind: 'recipient'; publicKey: Buffer }
  /** Reading only: the X25519 secret key a recipient vault was sealed to. */
  | { kind: 'identity'; secretKey: Buffer };

export type KeyFileKind = 'key' | 'secret' | 'public' | 'sign-secret' | 'sign-public';

const KEY_FILE_PREFIXES: Record<KeyFileKind, Buffer> = {
  key: Buffer.from('pgcloak-key-v1:', 'latin1'),
  secret: Buffer.from('pgcloak-secret-v1:', 'latin1'),
  public: Buffer.from('pgcloak-public-v1:', 'latin1'),
  'sign-secret': Buffer.from('pgcloak-sign-secret-v1:', 'latin1'),
  'sign-public': Buffer.from('pgcloak-sign-public-v1:', 'latin1'),
};

/** What each kind is, for messages about a key file of the wrong kind. */
const KEY_FILE_ROLES: Record<KeyFileKind, string> = {
  key: 'a vault key file (pgcloak-key-v1, for --key-file or --pseudonym-key)',
  secret: 'a secret key file (pgcloak-secret-v1, for unmask --identity)',
  public: 'a public key file (pgcloak-public-v1, for mask --recipient)',
  'sign-secret': 'a signing key file (pgcloak-sign-secret-v1, for mask --sign-key)',
  'sign-public': 'a signature-checking key file (pgcloak-sign-public-v1, for --verify)',
};

const KEY_BASE64_CHARS = 44; // 32 bytes: 43 characters and one '='
const MAX_PREFIX_BYTES = Math.max(...Object.values(KEY_FILE_PREFIXES).map((p) => p.length));
// Enough for the longest line with a CRLF; a longer file is not a key file, whatever it holds.
const MAX_KEY_FILE_BYTES = MAX_PREFIX_BYTES + KEY_BASE64_CHARS + 2;
const EQUALS = 0x3d;

if (KEY_BYTES !== STREAM_KEY_BYTES) throw new Error('vault key size does not match libsodium secretstream');
if (KEY_BYTES !== sodium.crypto_box_PUBLICKEYBYTES || KEY_BYTES !== sodium.crypto_box_SECRETKEYBYTES) {
  throw new Error('key file size does not match libsodium crypto_box keys');
}
// Signing key files hold the 32-byte seed (libsodium's 64-byte secret key is seed and public key).
if (KEY_BYTES !== sodium.crypto_sign_SEEDBYTES || KEY_BYTES !== sodium.crypto_sign_PUBLICKEYBYTES) {
  throw new Error('key file size does not match libsodium crypto_sign keys');
}

export function generateKeyFile(path: string): void {
  const key = Buffer.alloc(KEY_BYTES);
  try {
    sodium.randombytes_buf(key);
    const fd = createKeyFile(path, 0o600);
    writeKeyFile(fd, path, 'key', key);
  } finally {
    sodium.sodium_memzero(key);
  }
}

/**
 * A new key pair: `path` holds the secret key (mode 0600), `path.pub` the public key. Neither
 * file may exist already; when one does, neither is written. `box`: an X25519 pair for
 * --recipient/--identity (`keygen --public`); `sign`: an Ed25519 pair for --sign-key/--verify
 * (`keygen --sign`), whose secret file holds the seed.
 */
export function generateKeyPair(path: string, kind: 'box' | 'sign' = 'box'): { secretPath: string; publicPath: string } {
  const publicPath = `${path}.pub`;
  const secretKey = Buffer.alloc(KEY_BYTES);
  const publicKey = Buffer.alloc(KEY_BYTES);
  const signSecret = kind === 'sign' ? Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES) : undefined;
  try {
    const secretFd = createKeyFile(path, 0o600);
    let publicFd: number;
    try {
      publicFd = createKeyFile(publicPath, 0o644);
    } catch (error) {
      closeQuietly(secretFd);
      unlinkQuietly(path);
      throw error;
    }
    try {
      if (signSecret) {
        sodium.randombytes_buf(secretKey);
        sodium.crypto_sign_seed_keypair(publicKey, signSecret, secretKey);
      } else {
        sodium.crypto_box_keypair(publicKey, secretKey);
      }
      writeKeyFile(secretFd, path, signSecret ? 'sign-secret' : 'secret', secretKey);
    } catch (error) {
      closeQuietly(publicFd);
      unlinkQuietly(publicPath);
      throw error;
    }
    try {
      writeKeyFile(publicFd, publicPath, signSecret ? 'sign-public' : 'public', publicKey);
    } catch (error) {
      unlinkQuietly(path);
      throw error;
    }
    return { secretPath: path, publicPath };
  } finally {
    sodium.sodium_memzero(secretKey);
    if (signSecret) sodium.sodium_memzero(signSecret);
  }
}

function createKeyFile(path: string, mode: number): number {
  try {
    return openSync(path, 'wx', mode);
  } catch (cause) {
    if (errnoCode(cause) === 'EEXIST') {
      throw new PgcloakError('KEY_FILE_EXISTS', `${path} already exists; pgcloak never overwrites a key file`);
    }
    throw ioError('create key file', path, cause);
  }
}

/** Writes the key line to the new file `fd` and closes it; on failure the file is removed. */
function writeKeyFile(fd: number, path: string, kind: KeyFileKind, key: Buffer): void {
  const prefix = KEY_FILE_PREFIXES[kind];
  const line = Buffer.alloc(prefix.length + KEY_BASE64_CHARS + 1);
  try {
    prefix.copy(line, 0);
    line.write(key.toString('base64'), prefix.length, 'latin1');
    line[line.length - 1] = NL;
    // The mode given to open is narrowed by the umask; a secret must be exactly owner-only.
    fchmodSync(fd, kind === 'public' || kind === 'sign-public' ? 0o644 : 0o600);
    writeFully(fd, line, 0, line.length);
    fsyncSync(fd);
    closeSync(fd);
  } catch (cause) {
    closeQuietly(fd);
    unlinkQuietly(path);
    throw ioError('write key file', path, cause);
  } finally {
    sodium.sodium_memzero(line);
  }
}

/** The 32 bytes of a vault key file (`pgcloak keygen`). */
export function readKeyFile(path: string): Buffer {
  return readTypedKeyFile(path, 'key');
}

/** The 32 bytes of a secret key file (`pgcloak keygen --public`, the file without .pub). */
export function readSecretKeyFile(path: string): Buffer {
  return readTypedKeyFile(path, 'secret');
}

/** The 32 bytes of a public key file (`pgcloak keygen --public`, NAME.pub), checked to be usable. */
export function readPublicKeyFile(path: string): Buffer {
  const key = readTypedKeyFile(path, 'public');
  checkPublicKey(key, path);
  return key;
}

/**
 * Refuses a public key that no sealed box can use: all zeros, or another point of small order
 * on Curve25519, for which X25519 gives the all-zero shared secret (libsodium refuses it;
 * https://cr.yp.to/ecdh.html#validate). Nobody holds a secret key for such a point.
 */
export function checkPublicKey(publicKey: Buffer, path?: string): void {
  const what = path === undefined ? 'the public key' : path;
  if (publicKey.length !== KEY_BYTES) throw new PgcloakError('KEY_INVALID', `${what}: a public key is ${KEY_BYTES} bytes, got ${publicKey.length}`);
  const scalar = Buffer.alloc(KEY_BYTES);
  const shared = Buffer.alloc(KEY_BYTES);
  sodium.randombytes_buf(scalar);
  try {
    sodium.crypto_scalarmult(shared, scalar, publicKey);
  } catch {
    throw new PgcloakError('KEY_INVALID', `${what} is not a usable public key (a point of small order, such as all zeros): make a key pair with \`pgcloak keygen --public\``);
  } finally {
    sodium.sodium_memzero(scalar);
    sodium.sodium_memzero(shared);
  }
}

/** Zeroes the secret bytes a key source holds (a public key is no secret): call once the command is done with it. */
export function wipeKeySource(source: KeySource): void {
  switch (source.kind) {
    case 'key':
      sodium.sodium_memzero(source.key);
      break;
    case 'passphrase':
      sodium.sodium_memzero(source.passphrase);
      break;
    case 'identity':
      sodium.sodium_memzero(source.secretKey);
      break;
    case 'recipient':
      break;
  }
}

/** The Ed25519 key pair of a signing key file (`pgcloak keygen --sign`, the file without .pub). */
export function readSigningKey(path: string): SigningKey {
  const seed = readTypedKeyFile(path, 'sign-secret');
  const secretKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
  try {
    sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
  } finally {
    sodium.sodium_memzero(seed);
  }
  return { secretKey, publicKey };
}

/** The 32 bytes of a signature-checking public key file (`pgcloak keygen --sign`, NAME.pub). */
export function readVerifyKeyFile(path: string): Buffer {
  return readTypedKeyFile(path, 'sign-public');
}

export function readTypedKeyFile(path: string, kind: KeyFileKind): Buffer {
  const content = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
  let length = 0;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    // Read at most one byte past the limit, so a wrong (huge) file is never read whole.
    while (length < content.length) {
      const got = readSync(fd, content, length, content.length - length, null);
      if (got === 0) break;
      length += got;
    }
    closeSync(fd);
  } catch (cause) {
    if (fd !== undefined) closeQuietly(fd);
    sodium.sodium_memzero(content);
    throw ioError('read key file', path, cause);
  }
  try {
    return parseKeyFile(content.subarray(0, length), path, kind);
  } finally {
    sodium.sodium_memzero(content);
  }
}

function parseKeyFile(content: Buffer, path: string, expected: KeyFileKind): Buffer {
  let end = content.length;
  if (end > 0 && content[end - 1] === NL) end--;
  if (end > 0 && content[end - 1] === CR) end--;
  const found = (Object.keys(KEY_FILE_PREFIXES) as KeyFileKind[]).find((k) => {
    const prefix = KEY_FILE_PREFIXES[k];
    return content.subarray(0, prefix.length).equals(prefix);
  });
  const start = found === undefined ? 0 : KEY_FILE_PREFIXES[found].length;
  const valid =
    found !== undefined &&
    end === start + KEY_BASE64_CHARS &&
    content[end - 1] === EQUALS &&
    allBase64Chars(content, start, end - 1);
  if (!valid) {
    throw new PgcloakError(
      'KEY_INVALID',
      `${path} is not ${KEY_FILE_ROLES[expected]} (expected one line: ${KEY_FILE_PREFIXES[expected].toString('latin1')}<base64 of ${KEY_BYTES} bytes>)`,
    );
  }
  if (found !== expected) {
    throw new PgcloakError('KEY_INVALID', `${path} is ${KEY_FILE_ROLES[found]}, not ${KEY_FILE_ROLES[expected]}`);
  }
  return Buffer.from(content.toString('latin1', start, end), 'base64');
}

function allBase64Chars(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    const ok =
      (c >= 0x41 && c <= 0x5a) || // A-Z
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x30 && c <= 0x39) || // 0-9
      c === 0x2b || // +
      c === 0x2f; // /
    if (!ok) return false;
  }
  return true;
}

/** Fresh Argon2id parameters for a new passphrase vault: a random salt, the source's costs. */
export function newKdfParams(source: Extract<KeySource, { kind: 'passphrase' }>): KdfParams {
  const opslimit = source.opslimit ?? sodium.crypto_pwhash_OPSLIMIT_MODERATE;
  // Stored in KiB; libsodium rounds down to KiB too, so this derives the same key.
  const memlimit = Math.floor((source.memlimit ?? sodium.crypto_pwhash_MEMLIMIT_MODERATE) / 1024) * 1024;
  if (!kdfParamsInRange(opslimit, memlimit)) {
    throw new PgcloakError(
      'USAGE',
      `passphrase cost out of range: opslimit ${opslimit}, memlimit ${memlimit} bytes`,
    );
  }
  if (source.passphrase.length === 0) throw new PgcloakError('KEY_INVALID', 'the passphrase is empty');
  const salt = Buffer.alloc(SALT_BYTES);
  sodium.randombytes_buf(salt);
  return { opslimit, memlimit, salt };
}

/**
 * The header and secretstream key for a new vault (its stream header is filled in later, by
 * init_push). The caller owns the returned key and wipes it once the stream state is set up.
 */
export function newVaultKey(source: KeySource, streamHeader: Buffer): { header: VaultHeader; key: Buffer } {
  switch (source.kind) {
    case 'key': {
      const header: VaultHeader = { mode: 'key', streamHeader };
      return { header, key: deriveVaultKey(source, header) };
    }
    case 'passphrase': {
      const header: VaultHeader = { mode: 'passphrase', kdf: newKdfParams(source), streamHeader };
      return { header, key: deriveVaultKey(source, header) };
    }
    case 'recipient': {
      checkPublicKey(source.publicKey);
      const key = Buffer.alloc(KEY_BYTES);
      sodium.randombytes_buf(key);
      const sealedKey = Buffer.alloc(SEALED_KEY_BYTES);
      try {
        sodium.crypto_box_seal(sealedKey, key, source.publicKey);
      } catch {
        sodium.sodium_memzero(key);
        throw new PgcloakError('KEY_INVALID', 'the public key cannot seal a vault (libsodium refused it)');
      }
      return { header: { mode: 'recipient', sealedKey, streamHeader }, key };
    }
    case 'identity':
      throw new PgcloakError(
        'USAGE',
        'a secret key (--identity) opens vaults; to make one that only it opens, mask with --recipient and its public key (NAME.pub)',
      );
  }
}

const PROTECTED_BY: Record<VaultHeader['mode'], string> = {
  key: 'a key file (--key-file)',
  passphrase: 'a passphrase',
  recipient: 'a key pair (--identity)',
};

/**
 * The secretstream key of an existing vault with this header. The caller owns the returned
 * buffer and wipes it (sodium_memzero) once the stream state is set up.
 */
export function deriveVaultKey(source: KeySource, header: VaultHeader): Buffer {
  if (header.mode === 'recipient') return openSealedKey(source, header.sealedKey);
  if (source.kind === 'recipient' || source.kind === 'identity') {
    throw new PgcloakError('VAULT_WRONG_KEY', `this vault is protected by ${PROTECTED_BY[header.mode]}, not a key pair`);
  }
  if (source.kind === 'key') {
    if (header.mode !== 'key') {
      throw new PgcloakError('VAULT_WRONG_KEY', 'this vault is protected by a passphrase, not a key file');
    }
    if (source.key.length !== KEY_BYTES) {
      throw new PgcloakError('KEY_INVALID', `a vault key is ${KEY_BYTES} bytes, got ${source.key.length}`);
    }
    return Buffer.from(source.key);
  }
  if (header.mode !== 'passphrase') {
    throw new PgcloakError('VAULT_WRONG_KEY', 'this vault is protected by a key file, not a passphrase');
  }
  const { opslimit, memlimit, salt } = header.kdf;
  const key = Buffer.alloc(KEY_BYTES);
  sodium.crypto_pwhash(key, source.passphrase, salt, opslimit, memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
  return key;
}

function openSealedKey(source: KeySource, sealedKey: Buffer): Buffer {
  if (source.kind === 'recipient') {
    throw new PgcloakError(
      'VAULT_WRONG_KEY',
      'this vault is sealed to a key pair: a public key cannot open it (by design, not even on the host that masked); unmask with --identity and the secret key',
    );
  }
  if (source.kind !== 'identity') {
    throw new PgcloakError('VAULT_WRONG_KEY', 'this vault is sealed to a key pair: open it with --identity SECRET_KEY_FILE');
  }
  if (source.secretKey.length !== KEY_BYTES) {
    throw new PgcloakError('KEY_INVALID', `a secret key is ${KEY_BYTES} bytes, got ${source.secretKey.length}`);
  }
  const publicKey = Buffer.alloc(KEY_BYTES);
  sodium.crypto_scalarmult_base(publicKey, source.secretKey);
  const key = Buffer.alloc(KEY_BYTES);
  if (!sodium.crypto_box_seal_open(key, sealedKey, publicKey, source.secretKey)) {
    throw new PgcloakError('VAULT_WRONG_KEY', 'this vault is sealed to another key pair: wrong --identity, or the vault header was altered');
  }
  return key;
}
