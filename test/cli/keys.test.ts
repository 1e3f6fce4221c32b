// Key options in-process: the passphrase leaves the environment once read (a pg_dump, psql or
// shell started later does not inherit it), and a command's key buffers can be wiped.
import { describe, expect, it } from 'vitest';
import { resolveKeySource } from '../../src/cli/keys.js';
import { wipeKeySource, type KeySource } from '../../src/vault/key.js';

describe('resolveKeySource', () => {
  it('reads --passphrase-env NAME once and removes NAME from the environment', async () => {
    process.env['PGCLOAK_TEST_PASSPHRASE'] = 'correct horse';
    const source = await resolveKeySource({ passphraseEnv: 'PGCLOAK_TEST_PASSPHRASE' }, false);
    expect(source).toEqual({ kind: 'passphrase', passphrase: Buffer.from('correct horse') });
    expect('PGCLOAK_TEST_PASSPHRASE' in process.env).toBe(false);
    await expect(resolveKeySource({ passphraseEnv: 'PGCLOAK_TEST_PASSPHRASE' }, false)).rejects.toThrow(/KEY_MISSING: environment variable PGCLOAK_TEST_PASSPHRASE is not set/);
  });

  it('removes an empty passphrase variable too, and refuses it', async () => {
    process.env['PGCLOAK_TEST_EMPTY'] = '';
    await expect(resolveKeySource({ passphraseEnv: 'PGCLOAK_TEST_EMPTY' }, false)).rejects.toThrow(/KEY_MISSING/);
    expect('PGCLOAK_TEST_EMPTY' in process.env).toBe(false);
  });
});

describe('wipeKeySource', () => {
  it('zeroes key files, passphrases and secret keys, and leaves a public key', () => {
    const sources: KeySource[] = [
      { kind: 'key', key: Buffer.alloc(32, 1) },
      { kind: 'passphrase', passphrase: Buffer.from('pw') },
      { kind: 'identity', secretKey: Buffer.alloc(32, 2) },
      { kind: 'recipient', publicKey: Buffer.alloc(32, 3) },
    ];
    for (const s of sources) wipeKeySource(s);
    const bytes = sources.map((s) => (s.kind === 'key' ? s.key : s.kind === 'passphrase' ? s.passphrase : s.kind === 'identity' ? s.secretKey : s.publicKey));
    expect(bytes.map((b) => b.every((x) => x === 0))).toEqual([true, true, true, false]);
  });
});
