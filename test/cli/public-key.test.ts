// Public-key mode on the command line: `keygen --public`, `mask --recipient`, `unmask --identity`,
// and the errors for every wrong key a user may give.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { describeRun, runPgcloak, runPgcloakOk } from '../integration/cli.js';

const INPUT = 'fixtures/golden/types/input.sql';
const RULES = 'fixtures/golden/types/rules.yaml';
const EXPECTED = readFileSync('fixtures/golden/types/expected.sql');

let dir: string;
let id: string;
let masked: Buffer;
let vault: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgcloak-cli-pk-'));
  id = join(dir, 'id');
  vault = join(dir, 'pk.vault');
  const keygen = runPgcloakOk(['keygen', '--public', '--output', id]);
  expect(keygen.stderr).toContain(`${id}.pub`);
  masked = runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--recipient', `${id}.pub`, '-q'], { input: INPUT }).stdout;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pgcloak keygen --public', () => {
  it('writes the secret key with mode 0600 and NAME.pub, and never overwrites either', () => {
    expect(statSync(id).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${id}.pub`, 'latin1')).toMatch(/^pgcloak-public-v1:/);
    const again = runPgcloak(['keygen', '--public', '--output', id]);
    expect(again.status).toBe(EXIT_CODES.KEY_FILE_EXISTS);
    expect(again.stderr).toContain('never overwrites');
  });
});

describe('mask --recipient / unmask --identity', () => {
  it('masks exactly as with a key file, and unmasks byte for byte with the identity', () => {
    expect(masked.equals(EXPECTED)).toBe(true);
    expect(readFileSync(vault)[9]).toBe(4); // key mode: recipient
    const back = runPgcloakOk(['unmask', '--vault', vault, '--identity', id, '-q'], { input: masked });
    expect(back.stdout.equals(readFileSync(INPUT))).toBe(true);
  });

  it('the masking host cannot read its vault back: unmask with the same options fails clearly', () => {
    const args = ['unmask', '--vault', vault, '--recipient', `${id}.pub`, '-q'];
    const r = runPgcloak(args, { input: masked });
    expect(r.status, describeRun(args, r)).toBe(EXIT_CODES.VAULT_WRONG_KEY);
    expect(r.stderr).toMatch(/VAULT_WRONG_KEY: this vault is sealed to a key pair: a public key cannot open it/);
    expect(r.stdout.length).toBe(0);
  });

  it('refuses the public key given as identity, a wrong identity, and a key file', () => {
    const asIdentity = runPgcloak(['unmask', '--vault', vault, '--identity', `${id}.pub`, '-q'], { input: masked });
    expect(asIdentity.status).toBe(EXIT_CODES.KEY_INVALID);
    expect(asIdentity.stderr).toMatch(/id\.pub is a public key file \(pgcloak-public-v1, for mask --recipient\), not a secret key file/);

    const other = join(dir, 'other');
    runPgcloakOk(['keygen', '--public', '--output', other, '-q']);
    const wrong = runPgcloak(['unmask', '--vault', vault, '--identity', other, '-q'], { input: masked });
    expect(wrong.status).toBe(EXIT_CODES.VAULT_WRONG_KEY);
    expect(wrong.stderr).toMatch(/sealed to another key pair: wrong --identity/);
    expect(wrong.stdout.length).toBe(0);

    const keyFile = join(dir, 'k');
    runPgcloakOk(['keygen', '--output', keyFile, '-q']);
    const keyed = runPgcloak(['unmask', '--vault', vault, '--key-file', keyFile, '-q'], { input: masked });
    expect(keyed.status).toBe(EXIT_CODES.VAULT_WRONG_KEY);
    expect(keyed.stderr).toMatch(/open it with --identity/);
  });

  it('refuses a secret key given as recipient, and two key options at once', () => {
    const out = join(dir, 'never.vault');
    const secret = runPgcloak(['mask', '--rules', RULES, '--vault', out, '--recipient', id, '-q'], { input: INPUT });
    expect(secret.status).toBe(EXIT_CODES.KEY_INVALID);
    expect(secret.stderr).toMatch(/is a secret key file \(pgcloak-secret-v1, for unmask --identity\), not a public key file/);
    const both = runPgcloak(['mask', '--rules', RULES, '--vault', out, '--recipient', `${id}.pub`, '--key-file', id, '-q'], { input: INPUT });
    expect(both.status).toBe(EXIT_CODES.USAGE);
    expect(both.stderr).toMatch(/give one key option, not --key-file and --recipient/);
    const identity = runPgcloak(['mask', '--rules', RULES, '--vault', out, '--identity', id, '-q'], { input: INPUT });
    expect(identity.status).toBe(EXIT_CODES.USAGE);
    expect(identity.stderr).toMatch(/mask with --recipient/);
    expect(existsSync(out)).toBe(false);
  });

  it('masks pseudonyms with a key made for the run, sealed in the vault: unmask --identity needs nothing else', () => {
    const rules = join(dir, 'pseudo.yaml');
    writeFileSync(rules, 'tables:\n  person:\n    columns:\n      mail: pseudonym\n      name: pseudonym\n');
    const out = join(dir, 'pseudo.vault');
    const m = runPgcloakOk(['mask', '--rules', rules, '--vault', out, '--recipient', `${id}.pub`, '-q'], { input: INPUT });
    expect(m.stdout.toString()).not.toContain('alice@example.com');
    const again = runPgcloakOk(['mask', '--rules', rules, '--vault', join(dir, 'pseudo-again.vault'), '--recipient', `${id}.pub`, '-q'], { input: INPUT });
    expect(again.stdout.equals(m.stdout)).toBe(false);
    const back = runPgcloakOk(['unmask', '--vault', out, '--identity', id, '-q'], { input: m.stdout });
    expect(back.stdout.equals(readFileSync(INPUT))).toBe(true);
  });

  it('with --pseudonym-key masks the same in every run, and unmask needs the same file', () => {
    const rules = join(dir, 'pseudo.yaml');
    writeFileSync(rules, 'tables:\n  person:\n    columns:\n      mail: pseudonym\n      name: pseudonym\n');
    const out = join(dir, 'pseudo-pk.vault');
    const pk = join(dir, 'pseudonym.key');
    runPgcloakOk(['keygen', '--output', pk, '-q']);
    const m = runPgcloakOk(['mask', '--rules', rules, '--vault', out, '--recipient', `${id}.pub`, '--pseudonym-key', pk, '-q'], { input: INPUT });
    const again = runPgcloakOk(['mask', '--rules', rules, '--vault', join(dir, 'pseudo-pk2.vault'), '--recipient', `${id}.pub`, '--pseudonym-key', pk, '-q'], { input: INPUT });
    expect(again.stdout.equals(m.stdout)).toBe(true);
    const missing = runPgcloak(['unmask', '--vault', out, '--identity', id, '-q'], { input: m.stdout });
    expect(missing.status).toBe(EXIT_CODES.KEY_MISSING);
    expect(missing.stderr).toMatch(/masked with --pseudonym-key: give the same file to unmask/);
    const back = runPgcloakOk(['unmask', '--vault', out, '--identity', id, '--pseudonym-key', pk, '-q'], { input: m.stdout });
    expect(back.stdout.equals(readFileSync(INPUT))).toBe(true);
  });

  it('refuses an all-zero or other small-order public key with KEY_INVALID, not a stack trace', () => {
    // Curve25519 points of small order (https://cr.yp.to/ecdh.html#validate): 0, 1, and one of order 8.
    const points = ['00'.repeat(32), `01${'00'.repeat(31)}`, 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'];
    for (const [i, hex] of points.entries()) {
      const pub = join(dir, `weak-${i}.pub`);
      writeFileSync(pub, `pgcloak-public-v1:${Buffer.from(hex, 'hex').toString('base64')}\n`);
      const out = join(dir, `weak-${i}.vault`);
      const args = ['mask', '--rules', RULES, '--vault', out, '--recipient', pub, '-q'];
      const r = runPgcloak(args, { input: INPUT });
      expect(r.status, describeRun(args, r)).toBe(EXIT_CODES.KEY_INVALID);
      expect(r.stderr).toMatch(/KEY_INVALID: .*weak-\d\.pub is not a usable public key \(a point of small order, such as all zeros\)/);
      expect(r.stderr).not.toMatch(/internal error|at /);
      expect(r.stdout.length).toBe(0);
      expect(existsSync(out)).toBe(false);
    }
  });
});
