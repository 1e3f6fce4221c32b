// The slice of sodium-native (libsodium bindings) the vault uses, typed by hand because the
// package ships no declarations. Loaded through createRequire: it is a CommonJS native addon,
// and a plain interface keeps the emitted .d.ts files free of an untyped module reference.
// API: https://github.com/holepunchto/sodium-native, semantics: https://doc.libsodium.org/

import { createRequire } from 'node:module';

export interface Sodium {
  randombytes_buf(buf: Uint8Array): void;
  sodium_memzero(buf: Uint8Array): void;

  crypto_generichash_BYTES: number;
  crypto_generichash_STATEBYTES: number;
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array | null): void;
  crypto_generichash_init(state: Uint8Array, key: Uint8Array | null, outputLength: number): void;
  crypto_generichash_update(state: Uint8Array, input: Uint8Array): void;
  crypto_generichash_final(state: Uint8Array, out: Uint8Array): void;

  crypto_pwhash_ALG_ARGON2ID13: number;
  crypto_pwhash_SALTBYTES: number;
  crypto_pwhash_OPSLIMIT_MIN: number;
  crypto_pwhash_OPSLIMIT_MODERATE: number;
  crypto_pwhash_MEMLIMIT_MIN: number;
  crypto_pwhash_MEMLIMIT_MODERATE: number;
  crypto_pwhash(
    out: Uint8Array,
    passwd: Uint8Array,
    salt: Uint8Array,
    opslimit: number,
    memlimit: number,
    alg: number,
  ): void;

  crypto_box_PUBLICKEYBYTES: number;
  crypto_box_SECRETKEYBYTES: number;
  crypto_box_SEALBYTES: number;
  crypto_box_keypair(pk: Uint8Array, sk: Uint8Array): void;
  /** `c` must be exactly `m.length + SEALBYTES` bytes. */
  crypto_box_seal(c: Uint8Array, m: Uint8Array, pk: Uint8Array): void;
  /** False when the box was not sealed to this key pair or was altered. */
  crypto_box_seal_open(m: Uint8Array, c: Uint8Array, pk: Uint8Array, sk: Uint8Array): boolean;
  /** The X25519 public key of secret key `n`. */
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  /** X25519 of secret `n` and public `p`; throws when the result is all zero (`p` of low order). */
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;

  crypto_stream_chacha20_KEYBYTES: number;
  crypto_stream_chacha20_NONCEBYTES: number;
  /** `c` = `m` XOR the ChaCha20 stream of (`n`, `k`) from 64-byte block `ic` on. */
  crypto_stream_chacha20_xor_ic(c: Uint8Array, m: Uint8Array, n: Uint8Array, ic: number, k: Uint8Array): void;

  crypto_sign_PUBLICKEYBYTES: number;
  crypto_sign_SECRETKEYBYTES: number;
  crypto_sign_SEEDBYTES: number;
  crypto_sign_BYTES: number;
  /** The Ed25519 key pair of a 32-byte seed (`sk` is libsodium's 64 bytes: seed and public key). */
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  /** `sig` must be exactly crypto_sign_BYTES. */
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  /** False when `sig` is not a signature of `m` by `pk` (or `pk` is not a usable key). */
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;

  crypto_secretstream_xchacha20poly1305_STATEBYTES: number;
  crypto_secretstream_xchacha20poly1305_HEADERBYTES: number;
  crypto_secretstream_xchacha20poly1305_KEYBYTES: number;
  crypto_secretstream_xchacha20poly1305_ABYTES: number;
  crypto_secretstream_xchacha20poly1305_TAG_MESSAGE: number;
  crypto_secretstream_xchacha20poly1305_TAG_FINAL: number;
  crypto_secretstream_xchacha20poly1305_init_push(state: Uint8Array, header: Uint8Array, key: Uint8Array): void;
  crypto_secretstream_xchacha20poly1305_init_pull(state: Uint8Array, header: Uint8Array, key: Uint8Array): void;
  /** Throws when it fails; `c` must be exactly `m.length + ABYTES` bytes. */
  crypto_secretstream_xchacha20poly1305_push(
    state: Uint8Array,
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    tag: number,
  ): number;
  /** Throws on authentication failure; `m` must be exactly `c.length - ABYTES` bytes, `tag` 1 byte. */
  crypto_secretstream_xchacha20poly1305_pull(
    state: Uint8Array,
    m: Uint8Array,
    tag: Uint8Array,
    c: Uint8Array,
    ad: Uint8Array | null,
  ): number;
}

const require = createRequire(import.meta.url);

export const sodium = require('sodium-native') as Sodium;
