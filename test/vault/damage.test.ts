// Damaged, truncated, extended and foreign files, and wrong keys: every one must end in the
// right PgcloakError, never in records that were not written and never in another exception.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgcloakError, ErrorCode } from '../../src/errors.js';
import { KEY_FILE_HEADER_BYTES, MAGIC, PASSPHRASE_HEADER_BYTES } from '../../src/vault/format.js';
import type { KeySource } from '../../src/vault/key.js';
import { VaultReader } from '../../src/vault/reader.js';
import {
  expectVaultError,
  frameBounds,
  keySource,
  makeTempDir,
  passphraseSource,
  randomKey,
  readWholeVault,
  removeTempDirs,
  writeVault,
  type SampleVault,
} from './helpers.js';

const PASSPHRASE = 'open sesame, but slowly';
const VAULT_ERRORS: ErrorCode[] = ['VAULT_WRONG_KEY', 'VAULT_TAMPERED', 'VAULT_TRUNCATED', 'VAULT_FORMAT'];

let dir: string;
let key: Buffer;
let keyVault: Buffer;
let passphraseVault: Buffer;
let variant = 0;
// Every error message seen, to check at the end that no secret leaked into one.
const messages: string[] = [];

function sample(): SampleVault {
  const rows: SampleVault['rows'] = [];
  for (let i = 0; i < 4000; i++) {
    rows.push({ tableIndex: i % 2, ordinal: i, fields: [Buffer.from(`secret-${i}-${'z'.repeat(i % 50)}`)] });
  }
  return {
    metadata: { kind: 'damage test' },
    tables: [{ index: 0 }, { index: 1 }],
    rows,
    trailer: { rows: rows.length },
  };
}

/** Writes `bytes` to a fresh file and reads it whole; must fail with one of `codes`. */
function expectRejected(bytes: Buffer, codes: readonly ErrorCode[], source: KeySource = keySource(key)): PgcloakError {
  const path = join(dir, `variant-${variant++}.vault`);
  writeFileSync(path, bytes);
  const error = expectVaultError(() => readWholeVault(path, source), codes);
  messages.push(error.message);
  return error;
}

function flipped(file: Buffer, offset: number, mask = 0x01): Buffer {
  const copy = Buffer.from(file);
  copy[offset] = copy[offset]! ^ mask;
  return copy;
}

beforeAll(() => {
  dir = makeTempDir();
  key = randomKey();
  writeVault(join(dir, 'key.vault'), keySource(key), sample());
  writeVault(join(dir, 'passphrase.vault'), passphraseSource(PASSPHRASE), sample());
  keyVault = readFileSync(join(dir, 'key.vault'));
  passphraseVault = readFileSync(join(dir, 'passphrase.vault'));
  // The originals are sound, or nothing below means anything.
  expect(readWholeVault(join(dir, 'key.vault'), keySource(key)).records).toHaveLength(4002);
  expect(readWholeVault(join(dir, 'passphrase.vault'), passphraseSource(PASSPHRASE)).records).toHaveLength(4002);
});

afterAll(() => {
  const secrets = [
    key.toString('base64'),
    key.toString('hex'),
    key.toString('base64url'),
    key.toString('latin1'),
    PASSPHRASE,
  ];
  expect(messages.length).toBeGreaterThan(100);
  for (const message of messages) {
    for (const secret of secrets) expect(message).not.toContain(secret);
  }
  removeTempDirs();
});

describe('wrong keys', () => {
  it('rejects another key', () => {
    const error = expectRejected(keyVault, ['VAULT_WRONG_KEY'], keySource(randomKey()));
    expect(error.message).toContain('wrong key or passphrase for this vault (neither its first frame nor the one after opens with it), or its header is damaged');
  });

  it('rejects another passphrase', () => {
    expectRejected(passphraseVault, ['VAULT_WRONG_KEY'], passphraseSource(`${PASSPHRASE}!`));
    expectRejected(passphraseVault, ['VAULT_WRONG_KEY'], passphraseSource(''));
  });

  it('says which kind of secret a vault needs', () => {
    const needsPassphrase = expectRejected(passphraseVault, ['VAULT_WRONG_KEY'], keySource(key));
    expect(needsPassphrase.message).toContain('protected by a passphrase');
    const needsKey = expectRejected(keyVault, ['VAULT_WRONG_KEY'], passphraseSource(PASSPHRASE));
    expect(needsKey.message).toContain('protected by a key file');
  });

  it('rejects a key of the wrong size', () => {
    expectRejected(keyVault, ['KEY_INVALID'], keySource(key.subarray(0, 31)));
  });
});

/**
 * What a changed bit in the first bytes of a header gives: magic and key mode are checked in
 * clear; the version may turn into 2, which reads a header without the flags byte (so the
 * authenticated header differs); the signed flag on an unsigned vault looks for a signature
 * block that is not there; the rest (salt, sealed key, stream header) is authenticated.
 */
function headerDamageCodes(offset: number): ErrorCode[] {
  if (offset < MAGIC.length || offset === MAGIC.length + 1) return ['VAULT_FORMAT'];
  // Version 2 reads a shorter header, whose authentication fails while the frames after the first open: altered.
  if (offset === MAGIC.length) return ['VAULT_FORMAT', 'VAULT_TAMPERED'];
  if (offset === MAGIC.length + 2) return ['VAULT_FORMAT', 'VAULT_TAMPERED'];
  return ['VAULT_WRONG_KEY'];
}

describe('damaged bytes', () => {
  it('a changed byte anywhere in a key-file header', () => {
    for (let offset = 0; offset < KEY_FILE_HEADER_BYTES; offset++) {
      for (const mask of [0x01, 0x80]) {
        expectRejected(flipped(keyVault, offset, mask), headerDamageCodes(offset));
      }
    }
  });

  it('a changed byte anywhere in a passphrase header', () => {
    const source = passphraseSource(PASSPHRASE);
    for (let offset = 0; offset < PASSPHRASE_HEADER_BYTES; offset++) {
      for (const mask of [0x01, 0x80]) {
        let codes: ErrorCode[];
        if (offset === MAGIC.length + 3) codes = ['VAULT_FORMAT']; // algorithm
        else if (offset > MAGIC.length + 3 && offset < MAGIC.length + 12) codes = ['VAULT_FORMAT', 'VAULT_WRONG_KEY']; // costs
        else codes = headerDamageCodes(offset);
        expectRejected(flipped(passphraseVault, offset, mask), codes, source);
      }
    }
  });

  it('a changed byte inside the ciphertext of each frame', () => {
    const frames = frameBounds(keyVault, KEY_FILE_HEADER_BYTES);
    expect(frames.length).toBeGreaterThan(3);
    frames.forEach((frame, index) => {
      for (const offset of [frame.start + 4, (frame.start + frame.end) >> 1, frame.end - 17]) {
        const error = expectRejected(flipped(keyVault, offset), ['VAULT_TAMPERED']);
        expect(error.position.offset).toBe(frame.start);
      }
      // A frame's MAC (its last 16 bytes): after the first frame, damage like any other. The
      // next frame's nonce is made from the first 8 bytes of the first frame's: damage there
      // leaves the key unproven, and the message says it may be either.
      expectRejected(flipped(keyVault, frame.end - 1), ['VAULT_TAMPERED']);
      const mac = expectRejected(flipped(keyVault, frame.end - 16), [index === 0 ? 'VAULT_WRONG_KEY' : 'VAULT_TAMPERED']);
      if (index === 0) expect(mac.message).toContain('or its header is damaged');
    });
  });

  it('a flipped byte in the first frame is damage, not a wrong key (issue 18), for a passphrase vault too', () => {
    for (const [vault, headerBytes, source] of [
      [keyVault, KEY_FILE_HEADER_BYTES, keySource(key)],
      [passphraseVault, PASSPHRASE_HEADER_BYTES, passphraseSource(PASSPHRASE)],
    ] as const) {
      const first = frameBounds(vault, headerBytes)[0]!;
      const error = expectRejected(flipped(vault, (first.start + first.end) >> 1, 0x80), ['VAULT_TAMPERED'], source);
      expect(error.message).toMatch(/vault frame 0 is damaged: the header or the first frame was altered: it fails authentication, while the frame after it opens with this key/);
      // The same bytes with another key: still a wrong key.
      expectRejected(flipped(vault, (first.start + first.end) >> 1, 0x80), ['VAULT_WRONG_KEY'], vault === keyVault ? keySource(randomKey()) : passphraseSource('another'));
    }
  });

  it('a changed frame length', () => {
    const frames = frameBounds(keyVault, KEY_FILE_HEADER_BYTES);
    frames.forEach((frame, index) => {
      for (let byte = 0; byte < 4; byte++) {
        for (const mask of [0x01, 0x80]) {
          const codes: ErrorCode[] = ['VAULT_TAMPERED', 'VAULT_TRUNCATED'];
          if (index === 0) codes.push('VAULT_WRONG_KEY');
          expectRejected(flipped(keyVault, frame.start + byte, mask), codes);
        }
      }
    });
  });

  it('a frame length of 4 GiB does not make the reader allocate it', () => {
    const frames = frameBounds(keyVault, KEY_FILE_HEADER_BYTES);
    const damaged = Buffer.from(keyVault);
    damaged.writeUInt32LE(0xffffffff, frames[2]!.start);
    // Longer than the rest of the file: refused before anything is allocated.
    expectRejected(damaged, ['VAULT_TRUNCATED', 'VAULT_TAMPERED']);
  });

  it('a changed byte every 101 bytes, one at a time', () => {
    for (let offset = 0; offset < keyVault.length; offset += 101) {
      expectRejected(flipped(keyVault, offset, 0x40), VAULT_ERRORS);
    }
  });

  it('frames swapped, dropped or repeated', () => {
    const frames = frameBounds(keyVault, KEY_FILE_HEADER_BYTES);
    const [a, b] = [frames[1]!, frames[2]!];
    const piece = (f: { start: number; end: number }) => keyVault.subarray(f.start, f.end);
    const head = keyVault.subarray(0, a.start);
    const tail = keyVault.subarray(b.end);
    expectRejected(Buffer.concat([head, piece(b), piece(a), tail]), ['VAULT_TAMPERED']);
    expectRejected(Buffer.concat([head, piece(b), tail]), ['VAULT_TAMPERED']);
    expectRejected(Buffer.concat([head, piece(a), piece(a), piece(b), tail]), ['VAULT_TAMPERED']);
    // The FINAL frame moved up, the frames it skipped after it.
    const last = frames[frames.length - 1]!;
    expectRejected(Buffer.concat([head, piece(last)]), ['VAULT_TAMPERED']);
  });

  it('a frame spliced in from another vault written with the same key', () => {
    const other = Buffer.from(readFileSync(join(dir, 'key.vault')));
    const path = join(dir, 'other.vault');
    writeVault(path, keySource(key), sample());
    const second = readFileSync(path);
    const mine = frameBounds(other, KEY_FILE_HEADER_BYTES)[1]!;
    const theirs = frameBounds(second, KEY_FILE_HEADER_BYTES)[1]!;
    expectRejected(
      Buffer.concat([
        other.subarray(0, mine.start),
        second.subarray(theirs.start, theirs.end),
        other.subarray(mine.end),
      ]),
      ['VAULT_TAMPERED'],
    );
  });
});

describe('truncated and extended files', () => {
  it('cut every 997 bytes', () => {
    for (let length = 0; length < keyVault.length; length += 997) {
      expectRejected(keyVault.subarray(0, length), ['VAULT_TRUNCATED', 'VAULT_TAMPERED']);
    }
    for (let length = 0; length < passphraseVault.length; length += 997) {
      expectRejected(passphraseVault.subarray(0, length), ['VAULT_TRUNCATED', 'VAULT_TAMPERED'], passphraseSource(PASSPHRASE));
    }
  });

  it('cut by its last 1 to 40 bytes', () => {
    for (let cut = 1; cut <= 40; cut++) {
      expectRejected(keyVault.subarray(0, keyVault.length - cut), ['VAULT_TRUNCATED', 'VAULT_TAMPERED']);
    }
  });

  it('cut at each frame boundary and inside the header', () => {
    for (const frame of frameBounds(keyVault, KEY_FILE_HEADER_BYTES)) {
      expectRejected(keyVault.subarray(0, frame.start), ['VAULT_TRUNCATED']);
    }
    for (let length = 0; length < KEY_FILE_HEADER_BYTES; length++) {
      expectRejected(keyVault.subarray(0, length), ['VAULT_TRUNCATED']);
    }
  });

  it('hands out records of whole frames, then fails at the cut', () => {
    const frames = frameBounds(keyVault, KEY_FILE_HEADER_BYTES);
    const path = join(dir, 'cut.vault');
    writeFileSync(path, keyVault.subarray(0, frames[3]!.start + 10));
    const reader = VaultReader.open(path, keySource(key));
    let records = 0;
    const error = expectVaultError(() => {
      while (reader.next() !== null) records++;
    }, ['VAULT_TRUNCATED']);
    messages.push(error.message);
    expect(records).toBeGreaterThan(0);
    // The failure sticks.
    expectVaultError(() => reader.next(), ['VAULT_TRUNCATED']);
    reader.close();
  });

  it('bytes after the final frame', () => {
    expectRejected(Buffer.concat([keyVault, Buffer.from([0])]), ['VAULT_TAMPERED']);
    expectRejected(Buffer.concat([keyVault, Buffer.alloc(300 * 1024, 0x41)]), ['VAULT_TAMPERED']);
    const last = frameBounds(keyVault, KEY_FILE_HEADER_BYTES).at(-1)!;
    expectRejected(Buffer.concat([keyVault, keyVault.subarray(last.start)]), ['VAULT_TAMPERED']);
  });
});

describe('foreign files', () => {
  it('bad magic', () => {
    const error = expectRejected(Buffer.concat([Buffer.from('PGCLOAKX'), keyVault.subarray(8)]), ['VAULT_FORMAT']);
    expect(error.message).toContain('not a pgcloak vault');
    expectRejected(Buffer.from('--\n-- PostgreSQL database dump\n--\n'), ['VAULT_FORMAT']);
    expectRejected(Buffer.from('PX'), ['VAULT_FORMAT']);
  });

  it('an unknown version or key mode', () => {
    const version = Buffer.from(keyVault);
    version[8] = 4;
    expect(expectRejected(version, ['VAULT_FORMAT']).message).toContain('version 4');
    // Versions 1 and 2 are read, but the header is authenticated: a vault of today relabelled is
    // refused, as altered (the frames after the first open with the key).
    const older = Buffer.from(keyVault);
    expect(older[8]).toBe(3);
    for (const v of [1, 2]) {
      older[8] = v;
      expectRejected(older, ['VAULT_TAMPERED']);
    }
    const flags = Buffer.from(keyVault);
    flags[10] = 0x02;
    expect(expectRejected(flags, ['VAULT_FORMAT']).message).toContain('unknown vault flags 0x02');
    const mode = Buffer.from(keyVault);
    mode[9] = 3;
    expectRejected(mode, ['VAULT_FORMAT']);
  });

  it('a file that is only a prefix of the magic, or empty', () => {
    expectRejected(Buffer.alloc(0), ['VAULT_TRUNCATED']);
    expectRejected(Buffer.from('PGCLO'), ['VAULT_TRUNCATED']);
  });

  it('a missing file', () => {
    const error = expectVaultError(() => VaultReader.open(join(dir, 'nope.vault'), keySource(key)), ['IO']);
    expect(error.message).toContain('nope.vault');
  });
});
