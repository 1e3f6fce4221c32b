// The vault file format, version 3: the constants, and the cleartext header's encoding.
//
// A vault keeps the original values that masking replaced. It is one libsodium secretstream
// (XChaCha20-Poly1305, https://doc.libsodium.org/secret-key_cryptography/secretstream) behind a
// short cleartext header. All integers are little-endian.
//
//   header
//     8  magic "PGCLOAKV"
//     1  format version: 3 (2: no flags byte, no statement records, never signed; 1: as 2, but
//        rows also keep their xxx<row key> placeholders; both still read)
//     1  key mode: 1 = key file (32 raw key bytes), 2 = passphrase (key = Argon2id of it),
//        4 = recipient (a random key sealed to an X25519 public key, `pgcloak keygen --public`)
//     1  flags (version 3 only): bit 0 = signed, a signature block follows the FINAL frame;
//        the other bits are 0 (a reader refuses any it does not know)
//     passphrase mode only:
//       1  algorithm (crypto_pwhash_ALG_ARGON2ID13 = 2; nothing else is accepted)
//       4  opslimit (u32)
//       4  memlimit in KiB (u32). libsodium itself works in KiB (it divides memlimit by 1024),
//          so this loses nothing and covers the whole range up to crypto_pwhash_MEMLIMIT_MAX.
//      16  salt (crypto_pwhash_SALTBYTES)
//     recipient mode only:
//      80  the random 32-byte stream key in a sealed box (crypto_box_seal,
//          https://doc.libsodium.org/public-key_cryptography/sealed_boxes): only the recipient's
//          secret key opens it, so the host that masked cannot read its own vault back
//    24  secretstream header (crypto_secretstream_xchacha20poly1305_HEADERBYTES)
//
//   frames, until the one tagged FINAL
//     4  ciphertext length n (u32), ABYTES + 1 <= n <= MAX_FRAME_BYTES
//     n  crypto_secretstream_xchacha20poly1305_push(plaintext); the first frame's additional
//        data is the whole header above, so a changed header byte fails like a wrong key.
//
//   frame plaintext = one type byte, then:
//     'M' metadata   JSON object. Always the first frame, tag MESSAGE. It may hold the key a run
//                    made for pseudonym and hash (mask/strategy-secret.ts): readers wipe it.
//     'R' records    any number of records, tag MESSAGE. A record never straddles two frames.
//     'T' trailer    JSON object. Always the last frame, and the only one tagged FINAL; no byte
//                    may follow it.
//
//   record = varint type, then
//     1 table declaration  varint length, that many bytes of a JSON object with an integer "index"
//     3 statement          (version 3) varint length, that many bytes: a statement of the dump
//                          that masking replaced (the statistics of a masked column, see
//                          src/engine/statistics.ts), exactly as it was, in dump order
//     2 row                varint table index, varint ordinal, varint field count,
//                          then per field: varint length, that many bytes (kept verbatim):
//                          the key fields, the original masked fields, then what masking
//                          wrote in each of the declaration's derivedColumns (version 2:
//                          not its keyTextColumns, xxx<row key> made from the key fields)
//   varint = unsigned LEB128, at most 8 bytes, value at most Number.MAX_SAFE_INTEGER.
//
//   signature block (signed vaults only), in clear after the FINAL frame, the last bytes of the file:
//     8  magic "PGCLOAKS"
//    32  the signer's Ed25519 public key (`pgcloak keygen --sign`)
//    64  Ed25519 signature (crypto_sign_detached) of SIGNATURE_CONTEXT followed by the
//        BLAKE2b-512 of every byte before the block: header, frame lengths and ciphertexts.
//        See signature.ts for why that binds the whole content.
//
// The writer flushes a records frame once its plaintext reaches FRAME_TARGET_BYTES (a single
// larger record makes one larger frame). Readers refuse frames above MAX_FRAME_BYTES and
// passphrase costs above the MAX_* limits, so a damaged length or header cannot make them
// allocate gigabytes or run Argon2 for hours before the damage is detected. Secretstream's
// per-message counter and FINAL tag make reordered, dropped, repeated or truncated frames fail.

import { PgcloakError } from '../errors.js';
import { sodium } from '../sodium.js';

export const MAGIC = Buffer.from('PGCLOAKV', 'latin1');
export const FORMAT_VERSION = 3;
/**
 * Versions this pgcloak reads. Version 1 row records also keep each text placeholder made
 * of the row key (xxx<row key>) among their derived values; version 2 leaves them out (a
 * table declaration names them, keyTextColumns) and readers derive them from the key.
 * Version 3 adds the flags byte (a signed vault has a signature block after its FINAL frame)
 * and statement records.
 */
export const READABLE_VERSIONS: readonly number[] = [1, 2, 3];

/** Flags (version 3): a signature block follows the FINAL frame. */
export const FLAG_SIGNED = 0x01;
const KNOWN_FLAGS = FLAG_SIGNED;

export const KEY_MODE_KEY_FILE = 1;
export const KEY_MODE_PASSPHRASE = 2;
// 4, not 3: it differs from both other modes in two bits, so no single flipped bit turns one
// valid mode into another (3 is one bit from both 1 and 2).
export const KEY_MODE_RECIPIENT = 4;

export const FRAME_METADATA = 0x4d; // 'M'
export const FRAME_RECORDS = 0x52; // 'R'
export const FRAME_TRAILER = 0x54; // 'T'

export const RECORD_TABLE = 1;
export const RECORD_ROW = 2;
export const RECORD_STATEMENT = 3;

export const FRAME_LENGTH_BYTES = 4;
export const FRAME_TARGET_BYTES = 64 * 1024;
// The u32 length field is the only limit: a PostgreSQL value is at most 1 GB (a bytea
// escaped for COPY about twice that), and the reader checks a length against the rest
// of the file before it allocates anything.
export const MAX_FRAME_BYTES = 0xffff_ffff;

export const STREAM_HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES;
export const STREAM_KEY_BYTES = sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES;
export const STREAM_STATE_BYTES = sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES;
export const ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES;
export const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
export const TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;

/** The largest plaintext one frame (so one record, plus its type byte) may hold. */
export const MAX_FRAME_PLAINTEXT_BYTES = MAX_FRAME_BYTES - ABYTES;

export const PWHASH_ALG = sodium.crypto_pwhash_ALG_ARGON2ID13;
export const SALT_BYTES = sodium.crypto_pwhash_SALTBYTES;
export const MIN_OPSLIMIT = sodium.crypto_pwhash_OPSLIMIT_MIN;
export const MIN_MEMLIMIT = sodium.crypto_pwhash_MEMLIMIT_MIN;
// Four times crypto_pwhash_*_SENSITIVE: far above anything sensible, far below a hang.
export const MAX_OPSLIMIT = 16;
export const MAX_MEMLIMIT = 4 * 1024 * 1024 * 1024;

// Magic, version, key mode, and from version 3 on the flags byte.
const PREFIX_BYTES = MAGIC.length + 3;
const PREFIX_BYTES_V2 = MAGIC.length + 2;
const KDF_BYTES = 1 + 4 + 4 + SALT_BYTES;
export const SEALED_KEY_BYTES = sodium.crypto_box_SEALBYTES + STREAM_KEY_BYTES;
export const KEY_FILE_HEADER_BYTES = PREFIX_BYTES + STREAM_HEADER_BYTES;
export const PASSPHRASE_HEADER_BYTES = PREFIX_BYTES + KDF_BYTES + STREAM_HEADER_BYTES;
export const RECIPIENT_HEADER_BYTES = PREFIX_BYTES + SEALED_KEY_BYTES + STREAM_HEADER_BYTES;
export const MAX_HEADER_BYTES = Math.max(PASSPHRASE_HEADER_BYTES, RECIPIENT_HEADER_BYTES);

export interface KdfParams {
  opslimit: number;
  /** In bytes, always a whole number of KiB. */
  memlimit: number;
  salt: Buffer;
}

export type VaultHeader = (
  | { mode: 'key'; streamHeader: Buffer }
  | { mode: 'passphrase'; kdf: KdfParams; streamHeader: Buffer }
  | { mode: 'recipient'; sealedKey: Buffer; streamHeader: Buffer }
) & {
  /** A signature block follows the FINAL frame (version 3's FLAG_SIGNED; never in 1 and 2). */
  signed?: boolean;
};

export type TableDecl = Record<string, unknown> & { index: number };

export function kdfParamsInRange(opslimit: number, memlimit: number): boolean {
  return (
    Number.isInteger(opslimit) &&
    opslimit >= MIN_OPSLIMIT &&
    opslimit <= MAX_OPSLIMIT &&
    Number.isInteger(memlimit) &&
    memlimit >= MIN_MEMLIMIT &&
    memlimit <= MAX_MEMLIMIT
  );
}

export function encodeHeader(header: VaultHeader): Buffer {
  const out = Buffer.alloc(headerBytes(header.mode));
  MAGIC.copy(out, 0);
  let pos = MAGIC.length;
  out[pos++] = FORMAT_VERSION;
  out[pos++] = header.mode === 'key' ? KEY_MODE_KEY_FILE : header.mode === 'recipient' ? KEY_MODE_RECIPIENT : KEY_MODE_PASSPHRASE;
  out[pos++] = header.signed ? FLAG_SIGNED : 0;
  if (header.mode === 'recipient') {
    pos += header.sealedKey.copy(out, pos);
  } else if (header.mode === 'passphrase') {
    out[pos++] = PWHASH_ALG;
    pos = out.writeUInt32LE(header.kdf.opslimit, pos);
    pos = out.writeUInt32LE(Math.floor(header.kdf.memlimit / 1024), pos);
    pos += header.kdf.salt.copy(out, pos);
  }
  header.streamHeader.copy(out, pos);
  return out;
}

/**
 * Decodes the header at the start of `bytes`, which holds the file's first MAX_HEADER_BYTES
 * bytes (fewer if the file is shorter). Returns the header, how many bytes it took, and the
 * format version it names (one of READABLE_VERSIONS).
 */
export function decodeHeader(bytes: Buffer): { header: VaultHeader; length: number; version: number } {
  const magicSeen = bytes.subarray(0, MAGIC.length);
  if (!magicSeen.equals(MAGIC.subarray(0, magicSeen.length))) {
    throw new PgcloakError('VAULT_FORMAT', 'not a pgcloak vault (bad magic)', { offset: 0 });
  }
  if (bytes.length < PREFIX_BYTES_V2) throw truncatedHeader();
  const version = bytes[MAGIC.length]!;
  if (!READABLE_VERSIONS.includes(version)) {
    throw new PgcloakError(
      'VAULT_FORMAT',
      `unsupported vault format version ${version} (this pgcloak reads versions ${READABLE_VERSIONS.slice(0, -1).join(', ')} and ${READABLE_VERSIONS.at(-1)})`,
      { offset: MAGIC.length },
    );
  }
  const mode = bytes[MAGIC.length + 1]!;
  let signed = false;
  let pos = PREFIX_BYTES_V2;
  if (version >= 3) {
    if (bytes.length < PREFIX_BYTES) throw truncatedHeader();
    const flags = bytes[pos]!;
    if ((flags & ~KNOWN_FLAGS) !== 0) {
      throw new PgcloakError('VAULT_FORMAT', `unknown vault flags 0x${flags.toString(16).padStart(2, '0')}`, { offset: pos });
    }
    signed = (flags & FLAG_SIGNED) !== 0;
    pos++;
  }
  // Versions 1 and 2 lack the flags byte: their headers are one byte shorter.
  const shorter = PREFIX_BYTES - pos;
  if (mode === KEY_MODE_KEY_FILE) {
    const length = KEY_FILE_HEADER_BYTES - shorter;
    if (bytes.length < length) throw truncatedHeader();
    const streamHeader = Buffer.from(bytes.subarray(pos, length));
    return { header: { mode: 'key', streamHeader, signed }, length, version };
  }
  if (mode === KEY_MODE_RECIPIENT) {
    const length = RECIPIENT_HEADER_BYTES - shorter;
    if (bytes.length < length) throw truncatedHeader();
    const sealedKey = Buffer.from(bytes.subarray(pos, pos + SEALED_KEY_BYTES));
    const streamHeader = Buffer.from(bytes.subarray(pos + SEALED_KEY_BYTES, length));
    return { header: { mode: 'recipient', sealedKey, streamHeader, signed }, length, version };
  }
  if (mode !== KEY_MODE_PASSPHRASE) {
    throw new PgcloakError('VAULT_FORMAT', `unknown key mode ${mode}`, { offset: MAGIC.length + 1 });
  }
  const length = PASSPHRASE_HEADER_BYTES - shorter;
  if (bytes.length < length) throw truncatedHeader();
  const alg = bytes[pos++]!;
  if (alg !== PWHASH_ALG) {
    throw new PgcloakError('VAULT_FORMAT', `unknown passphrase hash algorithm ${alg}`, { offset: pos - 1 });
  }
  const opslimit = bytes.readUInt32LE(pos);
  const memlimit = bytes.readUInt32LE(pos + 4) * 1024;
  if (!kdfParamsInRange(opslimit, memlimit)) {
    throw new PgcloakError(
      'VAULT_FORMAT',
      `passphrase cost out of range (opslimit ${opslimit}, memlimit ${memlimit} bytes)`,
      { offset: pos },
    );
  }
  pos += 8;
  const salt = Buffer.from(bytes.subarray(pos, pos + SALT_BYTES));
  pos += SALT_BYTES;
  const streamHeader = Buffer.from(bytes.subarray(pos, pos + STREAM_HEADER_BYTES));
  return {
    header: { mode: 'passphrase', kdf: { opslimit, memlimit, salt }, streamHeader, signed },
    length,
    version,
  };
}

/** The header's length in the current format (version 3). */
export function headerBytes(mode: VaultHeader['mode']): number {
  if (mode === 'key') return KEY_FILE_HEADER_BYTES;
  return mode === 'passphrase' ? PASSPHRASE_HEADER_BYTES : RECIPIENT_HEADER_BYTES;
}

function truncatedHeader(): PgcloakError {
  return new PgcloakError('VAULT_TRUNCATED', 'vault ends inside its header', { offset: 0 });
}
