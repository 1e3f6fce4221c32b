// Signed vaults: who made a vault, for vaults whose key does not say it (issue 21).
//
// A key-file or passphrase vault can only be made by someone who could also read it, but a
// recipient vault is sealed to a public key: anyone holding NAME.pub can mask an altered
// source and hand over a vault that `unmask --identity` opens just as well. `mask --sign-key`
// appends an Ed25519 signature (https://doc.libsodium.org/public-key_cryptography/public-key_signatures)
// and `--verify NAME.pub` refuses a vault without the right one.
//
// What is signed: SIGNATURE_CONTEXT, then BLAKE2b-512 of every byte of the file before the
// signature block. That is the cleartext header (version, flags, key mode, KDF parameters or
// sealed key, stream header), and every frame's length and ciphertext, the trailer's (with
// the masked output's digest) included. The plaintext is fixed by those bytes and the key, so
// no record can be changed, added, dropped, reordered or swapped with one of another signed
// vault without changing the hash, and holding a vault's key (the recipient holds every
// stream key sealed to it) does not help: Poly1305 tags are easy to forge for whoever knows
// the key, a BLAKE2b collision is not. Signing only the header and the last frame's tag would
// have trusted those tags to chain the frames, which they do only against outsiders.
//
// The block is in clear, after the FINAL frame, so its signer can be named without the key
// (vault info, the warning of an unverified unmask) and checked before anything is
// decrypted; the header's FLAG_SIGNED (authenticated as the first frame's additional data)
// says it must be there, so cutting it off is an error, not an unsigned vault.

import { fstatSync, openSync, readSync } from 'node:fs';
import { PgcloakError } from '../errors.js';
import { MAGIC, MAX_HEADER_BYTES, decodeHeader } from './format.js';
import { closeQuietly, ioError } from './io.js';
import { sodium } from '../sodium.js';

export const SIGNATURE_MAGIC = Buffer.from('PGCLOAKS', 'latin1');
export const SIGN_PUBLIC_KEY_BYTES = sodium.crypto_sign_PUBLICKEYBYTES;
export const SIGN_SECRET_KEY_BYTES = sodium.crypto_sign_SECRETKEYBYTES;
export const SIGNATURE_BYTES = sodium.crypto_sign_BYTES;
export const SIGNATURE_BLOCK_BYTES = SIGNATURE_MAGIC.length + SIGN_PUBLIC_KEY_BYTES + SIGNATURE_BYTES;
/** Domain separation: a vault signature can never be taken for a signature of anything else. */
const SIGNATURE_CONTEXT = Buffer.from('pgcloak vault signature v1\0', 'latin1');
const DIGEST_BYTES = 64;
const FINGERPRINT_BYTES = 16;

/** An Ed25519 key pair, as `mask --sign-key` reads it: libsodium's 64-byte secret key and the public key. */
export interface SigningKey {
  secretKey: Buffer;
  publicKey: Buffer;
}

/** BLAKE2b-512 over everything a signature covers, fed as the file is written or read. */
export class SignedBytes {
  private readonly state = Buffer.alloc(sodium.crypto_generichash_STATEBYTES);

  constructor() {
    sodium.crypto_generichash_init(this.state, null, DIGEST_BYTES);
  }

  update(bytes: Uint8Array): void {
    sodium.crypto_generichash_update(this.state, bytes);
  }

  /** The message to sign or verify; the hash cannot be fed after this. */
  message(): Buffer {
    const message = Buffer.alloc(SIGNATURE_CONTEXT.length + DIGEST_BYTES);
    SIGNATURE_CONTEXT.copy(message, 0);
    sodium.crypto_generichash_final(this.state, message.subarray(SIGNATURE_CONTEXT.length));
    return message;
  }
}

/** The signature block for `message` (SignedBytes.message()). */
export function signatureBlock(message: Buffer, key: SigningKey): Buffer {
  const block = Buffer.alloc(SIGNATURE_BLOCK_BYTES);
  SIGNATURE_MAGIC.copy(block, 0);
  key.publicKey.copy(block, SIGNATURE_MAGIC.length);
  sodium.crypto_sign_detached(block.subarray(SIGNATURE_MAGIC.length + SIGN_PUBLIC_KEY_BYTES), message, key.secretKey);
  return block;
}

/** The signer's public key a signature block names; VAULT_TAMPERED when it is not one. */
export function blockSigner(block: Buffer): Buffer {
  if (block.length !== SIGNATURE_BLOCK_BYTES || !block.subarray(0, SIGNATURE_MAGIC.length).equals(SIGNATURE_MAGIC)) {
    throw new PgcloakError('VAULT_TAMPERED', 'the signature block at the end of this signed vault is missing or damaged');
  }
  return Buffer.from(block.subarray(SIGNATURE_MAGIC.length, SIGNATURE_MAGIC.length + SIGN_PUBLIC_KEY_BYTES));
}

/** Whether `block` signs `message` with `publicKey` (the --verify key, or else the one the block names). */
export function signatureValid(block: Buffer, message: Buffer, publicKey: Buffer): boolean {
  const signature = block.subarray(SIGNATURE_MAGIC.length + SIGN_PUBLIC_KEY_BYTES);
  return sodium.crypto_sign_verify_detached(signature, message, publicKey);
}

/** A short, one-way name of a signing public key: hex of a 16-byte BLAKE2b of its 32 bytes. */
export function signerFingerprint(publicKey: Buffer): string {
  const out = Buffer.alloc(FINGERPRINT_BYTES);
  sodium.crypto_generichash(out, publicKey);
  return out.toString('hex');
}

/**
 * The error for a vault whose signer is not the --verify key: unsigned, or signed by another.
 * `signer` is the key the vault names, if any.
 */
export function wrongSigner(signer: Buffer | undefined, expected: Buffer): PgcloakError {
  if (signer === undefined) {
    return new PgcloakError(
      'VAULT_SIGNATURE',
      `this vault is not signed, and --verify asks for one by key ${signerFingerprint(expected)}: nothing proves who made it (mask with --sign-key)`,
    );
  }
  return new PgcloakError(
    'VAULT_SIGNATURE',
    `this vault is signed by key ${signerFingerprint(signer)}, not by the --verify key ${signerFingerprint(expected)}`,
  );
}

/**
 * Who signed the vault at `path`, read without its key and without checking anything but the
 * header's form: the signer's public key, or undefined for an unsigned vault. For warnings
 * and listings; readers check the signature itself (VaultReader).
 */
export function peekVaultSigner(path: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(MAX_HEADER_BYTES);
    const got = readSync(fd, head, 0, head.length, 0);
    const { header } = decodeHeader(head.subarray(0, got));
    if (!header.signed) return undefined;
    const size = fstatSync(fd).size;
    const block = Buffer.alloc(SIGNATURE_BLOCK_BYTES);
    const n = size >= MAGIC.length + SIGNATURE_BLOCK_BYTES ? readSync(fd, block, 0, block.length, size - block.length) : 0;
    return blockSigner(block.subarray(0, n));
  } catch (cause) {
    if (cause instanceof PgcloakError) throw cause;
    throw ioError('read vault', path, cause);
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

/** The last SIGNATURE_BLOCK_BYTES of a signed vault of `size` bytes, which cannot start before offset `minimum`. */
export function readSignatureBlock(fd: number, size: number, minimum: number): Buffer {
  const block = Buffer.alloc(SIGNATURE_BLOCK_BYTES);
  if (size - SIGNATURE_BLOCK_BYTES < minimum) {
    throw new PgcloakError('VAULT_TRUNCATED', 'this signed vault ends before its signature block');
  }
  let got = 0;
  while (got < block.length) {
    const n = readSync(fd, block, got, block.length - got, size - SIGNATURE_BLOCK_BYTES + got);
    if (n === 0) break;
    got += n;
  }
  return block.subarray(0, got);
}
