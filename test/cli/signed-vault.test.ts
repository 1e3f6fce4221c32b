// Signed vaults on the command line (issue 21): `keygen --sign`, `mask --sign-key`, and
// `--verify` on unmask (and --sql), scan and vault info. The attack it answers: whoever holds
// a recipient's public key masks an altered source and hands over that vault instead; the
// masked dump is the same byte for byte (placeholders do not depend on originals).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { SIGNATURE_BLOCK_BYTES } from '../../src/vault/signature.js';
import { describeRun, runPgcloak, runPgcloakOk } from '../integration/cli.js';

const INPUT = 'fixtures/golden/types/input.sql';
const RULES = 'fixtures/golden/types/rules.yaml';
const ORIGINAL = readFileSync(INPUT);

let dir: string;
let id: string;
let sig: string;
let vault: string;
let masked: Buffer;
let forged: string;
let fingerprint: string;

const at = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgcloak-cli-signed-'));
  id = at('id');
  sig = at('sig');
  vault = at('genuine.vault');
  forged = at('forged.vault');
  runPgcloakOk(['keygen', '--public', '--output', id, '-q']);
  const keygen = runPgcloakOk(['keygen', '--sign', '--output', sig]);
  fingerprint = /key fingerprint ([0-9a-f]{32})/.exec(keygen.stderr)?.[1] ?? '';
  masked = runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--recipient', `${id}.pub`, '--sign-key', sig, '-q'], { input: INPUT }).stdout;
  // The forger has the public key only, and an altered source.
  writeFileSync(at('altered.sql'), ORIGINAL.toString('utf8').replace('alice@example.com', 'ATTACKER-CHOSEN'));
  const forgedDump = runPgcloakOk(['mask', '--rules', RULES, '--vault', forged, '--recipient', `${id}.pub`, '-q'], { input: at('altered.sql') }).stdout;
  expect(forgedDump.equals(masked)).toBe(true);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pgcloak keygen --sign', () => {
  it('writes the signing key with mode 0600 and NAME.pub, prints the key fingerprint, never overwrites', () => {
    expect(fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(statSync(sig).mode & 0o777).toBe(0o600);
    expect(readFileSync(sig, 'latin1')).toMatch(/^pgcloak-sign-secret-v1:/);
    expect(readFileSync(`${sig}.pub`, 'latin1')).toMatch(/^pgcloak-sign-public-v1:/);
    const again = runPgcloak(['keygen', '--sign', '--output', sig]);
    expect(again.status).toBe(EXIT_CODES.KEY_FILE_EXISTS);
    const both = runPgcloak(['keygen', '--sign', '--public', '--output', at('both')]);
    expect(both.status).toBe(EXIT_CODES.USAGE);
    expect(existsSync(at('both'))).toBe(false);
  });
});

describe('mask --sign-key, unmask --verify', () => {
  it('a signed vault verifies and unmasks byte for byte, without a warning', () => {
    const args = ['unmask', '--vault', vault, '--identity', id, '--verify', `${sig}.pub`, '-q'];
    const r = runPgcloakOk(args, { input: masked });
    expect(r.stdout.equals(ORIGINAL)).toBe(true);
    expect(r.stderr).toBe('');
  });

  it('the forged vault is refused with --verify, and nothing is written', () => {
    const args = ['unmask', '--vault', forged, '--identity', id, '--verify', `${sig}.pub`, '-q'];
    const r = runPgcloak(args, { input: masked });
    expect(r.status, describeRun(args, r)).toBe(EXIT_CODES.VAULT_SIGNATURE);
    expect(r.stderr).toMatch(/VAULT_SIGNATURE: this vault is not signed/);
    expect(r.stdout.length).toBe(0);
    const sql = runPgcloak(['unmask', '--vault', forged, '--identity', id, '--verify', `${sig}.pub`, '--sql', '--output', at('never.sql'), '-q']);
    expect(sql.status).toBe(EXIT_CODES.VAULT_SIGNATURE);
    expect(existsSync(at('never.sql'))).toBe(false);
    const scan = runPgcloak(['scan', '--vault', forged, '--identity', id, '--verify', `${sig}.pub`], { input: masked });
    expect(scan.status).toBe(EXIT_CODES.VAULT_SIGNATURE);
  });

  it('without --verify the forged vault opens (that is the attack), with a warning that its maker is not authenticated', () => {
    const r = runPgcloakOk(['unmask', '--vault', forged, '--identity', id, '-q'], { input: masked });
    expect(r.stdout.toString('utf8')).toContain('ATTACKER-CHOSEN');
    expect(r.stderr).toMatch(/warning: this vault is sealed to a public key and not signed: anyone holding that public key could have made it/);
    const signed = runPgcloakOk(['unmask', '--vault', vault, '--identity', id, '-q'], { input: masked });
    expect(signed.stderr).toContain(`warning: this vault is signed by key ${fingerprint}, but without --verify NAME.pub its maker is not authenticated`);
    const sql = runPgcloakOk(['unmask', '--vault', forged, '--identity', id, '--sql', '--output', at('forged.sql'), '-q']);
    expect(sql.stderr).toMatch(/not signed: anyone holding that public key/);
  });

  it('refuses a forgery signed by the forger, and one carrying the genuine signature block', () => {
    runPgcloakOk(['keygen', '--sign', '--output', at('forger'), '-q']);
    const own = at('forged-signed.vault');
    runPgcloakOk(['mask', '--rules', RULES, '--vault', own, '--recipient', `${id}.pub`, '--sign-key', at('forger'), '-q'], { input: at('altered.sql') });
    const r1 = runPgcloak(['unmask', '--vault', own, '--identity', id, '--verify', `${sig}.pub`, '-q'], { input: masked });
    expect(r1.status).toBe(EXIT_CODES.VAULT_SIGNATURE);
    expect(r1.stderr).toContain(`not by the --verify key ${fingerprint}`);

    const bytes = readFileSync(own);
    const genuine = readFileSync(vault);
    const grafted = at('grafted.vault');
    writeFileSync(grafted, Buffer.concat([bytes.subarray(0, bytes.length - SIGNATURE_BLOCK_BYTES), genuine.subarray(genuine.length - SIGNATURE_BLOCK_BYTES)]));
    const out = at('grafted-out.sql');
    const r2 = runPgcloak(['unmask', '--vault', grafted, '--identity', id, '--verify', `${sig}.pub`, '--output', out, '-q'], { input: masked });
    expect(r2.status).toBe(EXIT_CODES.VAULT_SIGNATURE);
    expect(r2.stderr).toMatch(/does not hold: the vault was altered after it was signed/);
    expect(existsSync(out)).toBe(false);
  });

  it('a flipped byte anywhere in a signed vault is refused', () => {
    const genuine = readFileSync(vault);
    // Header, first frame, middle, trailer frame, signature block: a sample of places (every byte is in test/vault/signature.test.ts).
    const offsets = [8, 9, 10, 11, 60, 200, Math.floor(genuine.length / 2), genuine.length - SIGNATURE_BLOCK_BYTES - 3, genuine.length - 80, genuine.length - 1];
    for (const offset of offsets) {
      const copy = Buffer.from(genuine);
      copy[offset] = copy[offset]! ^ 0x04;
      const path = at(`flip-${offset}.vault`);
      writeFileSync(path, copy);
      const out = at(`flip-${offset}.sql`);
      const args = ['unmask', '--vault', path, '--identity', id, '--verify', `${sig}.pub`, '--output', out, '-q'];
      const r = runPgcloak(args, { input: masked });
      expect([EXIT_CODES.VAULT_SIGNATURE, EXIT_CODES.VAULT_TAMPERED], describeRun(args, r)).toContain(r.status);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('signs key-file and passphrase vaults too; vault info names the signer', () => {
    runPgcloakOk(['keygen', '--output', at('k'), '-q']);
    const kv = at('k.vault');
    const m1 = runPgcloakOk(['mask', '--rules', RULES, '--vault', kv, '--key-file', at('k'), '--sign-key', sig, '-q'], { input: INPUT }).stdout;
    expect(runPgcloakOk(['unmask', '--vault', kv, '--key-file', at('k'), '--verify', `${sig}.pub`, '-q'], { input: m1 }).stdout.equals(ORIGINAL)).toBe(true);
    const env = { PGCLOAK_TEST_PASS: 'correct horse' };
    const pv = at('p.vault');
    const m2 = runPgcloakOk(['mask', '--rules', RULES, '--vault', pv, '--passphrase-env', 'PGCLOAK_TEST_PASS', '--sign-key', sig, '-q'], { input: INPUT, env }).stdout;
    expect(runPgcloakOk(['unmask', '--vault', pv, '--passphrase-env', 'PGCLOAK_TEST_PASS', '--verify', `${sig}.pub`, '-q'], { input: m2, env }).stdout.equals(ORIGINAL)).toBe(true);

    const info = runPgcloakOk(['vault', 'info', '--vault', kv, '--key-file', at('k'), '--verify', `${sig}.pub`]).stdout.toString();
    expect(info).toContain(`  signed      by key ${fingerprint} (checked: the --verify key)`);
    const unchecked = runPgcloakOk(['vault', 'info', '--vault', kv, '--key-file', at('k')]).stdout.toString();
    expect(unchecked).toContain(`by key ${fingerprint} (the signature holds for the key the vault names; --verify NAME.pub checks it is yours)`);
    const json = JSON.parse(runPgcloakOk(['vault', 'info', '--vault', kv, '--key-file', at('k'), '--json']).stdout.toString());
    expect(json.signature).toEqual({ signer: fingerprint, verified: false });
    const unsigned = runPgcloakOk(['vault', 'info', '--vault', forged, '--identity', id]).stdout.toString();
    expect(unsigned).toContain('  signed      no');
    // A key file's vault needs no warning: only its key's holder could have made it.
    expect(runPgcloakOk(['unmask', '--vault', kv, '--key-file', at('k'), '-q'], { input: m1 }).stderr).toBe('');
  });

  it('refuses a key of the wrong kind for --sign-key and --verify, naming what it is and what takes it', () => {
    const m = runPgcloak(['mask', '--rules', RULES, '--vault', at('never.vault'), '--recipient', `${id}.pub`, '--sign-key', `${sig}.pub`, '-q'], { input: INPUT });
    expect(m.status).toBe(EXIT_CODES.KEY_INVALID);
    expect(m.stderr).toMatch(/sig\.pub is a signature-checking key file \(pgcloak-sign-public-v1, for --verify\), not a signing key file \(pgcloak-sign-secret-v1, for mask --sign-key\)/);
    expect(existsSync(at('never.vault'))).toBe(false);
    const v = runPgcloak(['unmask', '--vault', vault, '--identity', id, '--verify', `${id}.pub`, '-q'], { input: masked });
    expect(v.status).toBe(EXIT_CODES.KEY_INVALID);
    expect(v.stderr).toMatch(/id\.pub is a public key file \(pgcloak-public-v1, for mask --recipient\), not a signature-checking key file/);
    const r = runPgcloak(['mask', '--rules', RULES, '--vault', at('never.vault'), '--recipient', `${sig}.pub`, '-q'], { input: INPUT });
    expect(r.status).toBe(EXIT_CODES.KEY_INVALID);
    expect(r.stderr).toMatch(/is a signature-checking key file .* not a public key file \(pgcloak-public-v1, for mask --recipient\)/);
  });

  it('reads a format-2 vault as before, and --verify refuses it as unsigned', () => {
    const fx = 'fixtures/vault-v2';
    const back = runPgcloakOk(['unmask', '--vault', `${fx}/recipient-v2.vault`, '--identity', `${fx}/test-id`, '--input', `${fx}/masked.sql`]);
    expect(back.stdout.equals(readFileSync(`${fx}/input.sql`))).toBe(true);
    expect(back.stderr).toMatch(/not signed: anyone holding that public key/);
    const v = runPgcloak(['unmask', '--vault', `${fx}/v2.vault`, '--key-file', `${fx}/test.key`, '--verify', `${sig}.pub`, '--input', `${fx}/masked.sql`, '-q']);
    expect(v.status).toBe(EXIT_CODES.VAULT_SIGNATURE);
    expect(runPgcloakOk(['unmask', '--vault', `${fx}/v2.vault`, '--key-file', `${fx}/test.key`, '--input', `${fx}/masked.sql`, '-q']).stdout.equals(readFileSync(`${fx}/input.sql`))).toBe(true);
  });
});
