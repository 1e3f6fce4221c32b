// Where a vault's 32-byte stream key comes from: a key file made by `pgcloak keygen`, or a
// passphrase stretched with Argon2id (https://doc.libsodium.org/password_hashing/default_phf).
//
// Key file: one line, `pgcloak-key-v1:<standard base64 of 32 bytes>\n`, mode 0600. The version
// prefix lets a later key format be told apart, and keeps a stray file from being taken as a key.
//
// The base64 text of a key passes through JavaScript strings, which cannot be wiped; the
// buffers that hold key bytes are wiped once used.

import { closeSync, fchmodSync, fsyncSync, openSync, readSync, unlinkSync } from 'node:fs';
import { PgcloakError } from '../errors.js';
import {
  SALT_BYTES,
  STREAM_KEY_BYTES,
  kdfParamsInRange,
  type KdfParams,
  type VaultHeader,
} from './format.js';
import { closeQuietly, errnoCode, ioError, unlinkQuietly, writeFully } from './io.js';
import { sodium } from './sodium.js';

export const KEY_BYTES = 32;

export type KeySource =
  | { kind: 'key'; key: Buffer }
  | { kind: 'passphrase'; passphrase: Buffer; opslimit?: number; memlimit?: number };

const KEY_FILE_PREFIX = Buffer.from('pgcloak-key-v1:', 'latin1');
const KEY_BASE64_CHARS = 44; // 32 bytes: 43 characters and one '='
const KEY_FILE_LINE_BYTES = KEY_FILE_PREFIX.length + KEY_BASE64_CHARS + 1;
// Enough for the line with a CRLF; a longer file is not a key file, whatever it holds.
const MAX_KEY_FILE_BYTES = KEY_FILE_LINE_BYTES + 1;
const LF = 0x0a;
const CR = 0x0d;
const EQUALS = 0x3d;

if (KEY_BYTES !== STREAM_KEY_BYTES) throw new Error('vault key size does not match libsodium secretstream');

export function generateKeyFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    if (errnoCode(cause) === 'EEXIST') {
      throw new PgcloakError('KEY_FILE_EXISTS', `${path} already exists; pgcloak never overwrites a key file`);
    }
    throw ioError('create key file', path, cause);
  }
  const key = Buffer.alloc(KEY_BYTES);
  const line = Buffer.alloc(KEY_FILE_LINE_BYTES);
  try {
    sodium.randombytes_buf(key);
    KEY_FILE_PREFIX.copy(line, 0);
    line.write(key.toString('base64'), KEY_FILE_PREFIX.length, 'latin1');
    line[KEY_FILE_LINE_BYTES - 1] = LF;
    // The mode given to open is narrowed by the umask; the file must be exactly owner-only.
    fchmodSync(fd, 0o600);
    writeFully(fd, line, 0, line.length);
    fsyncSync(fd);
    closeSync(fd);
  } catch (cause) {
    closeQuietly(fd);
    unlinkQuietly(path);
    throw ioError('write key file', path, cause);
  } finally {
    sodium.sodium_memzero(key);
    sodium.sodium_memzero(line);
  }
}

export function readKeyFile(path: string): Buffer {
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
    return parseKeyFile(content.subarray(0, length), path);
  } finally {
    sodium.sodium_memzero(content);
  }
}

function parseKeyFile(content: Buffer, path: string): Buffer {
  let end = content.length;
  if (end > 0 && content[end - 1] === LF) end--;
  if (end > 0 && content[end - 1] === CR) end--;
  const start = KEY_FILE_PREFIX.length;
  const valid =
    end === start + KEY_BASE64_CHARS &&
    content.subarray(0, start).equals(KEY_FILE_PREFIX) &&
    content[end - 1] === EQUALS &&
    allBase64Chars(content, start, end - 1);
  if (!valid) {
    throw new PgcloakError(
      'KEY_INVALID',
      `${path} is not a pgcloak key file (expected one line: pgcloak-key-v1:<base64 of ${KEY_BYTES} bytes>)`,
    );
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
 * The secretstream key for a vault with this header. The caller owns the returned buffer and
 * wipes it (sodium_memzero) once the stream state is set up.
 */
export function deriveVaultKey(source: KeySource, header: VaultHeader): Buffer {
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
