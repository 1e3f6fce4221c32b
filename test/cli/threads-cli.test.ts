// `mask --threads` on the command line: the same bytes whatever the number, whether the
// dump comes from a file, a pipe or --input; a bad number is a usage error.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runPgcloak, runPgcloakOk } from '../integration/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-threads-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'k');
runPgcloakOk(['keygen', '--output', key, '--quiet']);
const dump = join(dir, 'erp.sql');
execFileSync(process.execPath, ['bench/generate.js', '--size', '4MiB', '--output', dump]);
const RULES = join(dir, 'rules.yaml');
writeFileSync(
  RULES,
  `tables:
  res_partner:
    columns: {name: placeholder, email: placeholder, comment: placeholder, display_name: placeholder}
  account_move_line:
    columns: {name: placeholder, debit: placeholder, date: placeholder}
`,
);

describe('mask --threads', () => {
  it('writes the same masked dump with 1, 2 and 4 threads, from a file, a pipe and --input', () => {
    const outputs: Buffer[] = [];
    for (const threads of ['1', '2', '4']) {
      const vault = join(dir, `t${threads}.vault`);
      outputs.push(runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '--threads', threads, '-q'], { input: dump }).stdout);
    }
    // Standard input as a pipe (the FdSource path for FIFOs).
    const piped = spawnSync('sh', ['-c', `cat ${dump} | node bin/pgcloak.js mask --rules ${RULES} --vault ${join(dir, 'pipe.vault')} --key-file ${key} --threads 2 -q`], { maxBuffer: 1 << 30 });
    expect(piped.status).toBe(0);
    outputs.push(piped.stdout);
    const out = join(dir, 'out.sql');
    runPgcloakOk(['mask', '--rules', RULES, '--vault', join(dir, 'in.vault'), '--key-file', key, '--input', dump, '--output', out, '-q']);
    outputs.push(readFileSync(out));
    for (const o of outputs) expect(o.equals(outputs[0]!)).toBe(true);
    expect(outputs[0]!.equals(readFileSync(dump))).toBe(false);
    const back = runPgcloakOk(['unmask', '--vault', join(dir, 't4.vault'), '--key-file', key, '-q'], { input: outputs[0]! });
    expect(back.stdout.equals(readFileSync(dump))).toBe(true);
  });

  it('refuses a thread count that is not a whole number from 1 to 64', () => {
    for (const bad of ['0', '-1', '1.5', '65']) {
      const r = runPgcloak(['mask', '--rules', RULES, '--vault', join(dir, 'bad.vault'), '--key-file', key, '--threads', bad], { input: dump });
      expect(r.status).toBe(EXIT_CODES.USAGE);
      expect(r.stderr).toMatch(/--threads/);
    }
  });
});
