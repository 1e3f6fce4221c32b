// BLAKE2b-256 (libsodium crypto_generichash, https://doc.libsodium.org/hashing/generic_hashing)
// of a byte stream, fed chunk by chunk as it is written, so a vault can name the exact output
// it belongs to.

import { sodium } from './sodium.js';

const DIGEST_BYTES = sodium.crypto_generichash_BYTES; // 32: BLAKE2b-256

export class OutputDigest {
  private readonly state = Buffer.alloc(sodium.crypto_generichash_STATEBYTES);
  private result: Buffer | undefined;

  constructor() {
    sodium.crypto_generichash_init(this.state, null, DIGEST_BYTES);
  }

  update(chunk: Uint8Array): void {
    if (this.result !== undefined) throw new Error('OutputDigest.update() after digest()');
    sodium.crypto_generichash_update(this.state, chunk);
  }

  /** Ends the stream; later calls return the same digest. */
  digest(): Buffer {
    if (this.result === undefined) {
      this.result = Buffer.alloc(DIGEST_BYTES);
      sodium.crypto_generichash_final(this.state, this.result);
    }
    return Buffer.from(this.result);
  }

  hex(): string {
    return this.digest().toString('hex');
  }
}

export function blake2bHex(data: Uint8Array): string {
  const out = Buffer.alloc(DIGEST_BYTES);
  sodium.crypto_generichash(out, data);
  return out.toString('hex');
}
