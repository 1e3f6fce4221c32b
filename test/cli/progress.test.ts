// The progress line (issue 20, item 6): with the input's size known (--input FILE, or stdin
// redirected from a file) it shows the size, percent done and the time left, as pv does; for
// a pipe, bytes and rate only. The formatting as a unit, then the CLI under a pseudo-terminal
// (util-linux `script`), its output held back by a slow reader so the line is drawn for sure.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockTime, progressLine } from '../../src/cli/report.js';
import { repoRoot, runPgcloakOk } from '../integration/cli.js';

describe('progressLine', () => {
  const base = { label: 'mask', table: 'public.customer' };

  it('with the size known: bytes of the total, percent, rate and time left', () => {
    // 250 MB of 1 GB in 10 s: 25 MB/s, 750 MB to go, 30 s.
    expect(progressLine({ ...base, done: 250e6, total: 1e9, seconds: 10 })).toBe('mask: 250.0 MB of 1.00 GB 25% 25 MB/s ETA 0:00:30 public.customer');
  });

  it('time left in hours, minutes and seconds', () => {
    // 1 MB/s, 3,723 MB to go.
    expect(progressLine({ ...base, done: 1e6, total: 3724e6, seconds: 1 })).toContain('0% 1 MB/s ETA 1:02:03');
    expect(clockTime(0)).toBe('0:00:00');
    expect(clockTime(59.6)).toBe('0:01:00');
    expect(clockTime(36_000)).toBe('10:00:00');
  });

  it('percent rounds down, so 100% means done; never more than 100 should the file grow', () => {
    expect(progressLine({ ...base, done: 999, total: 1000, seconds: 1 })).toContain(' 99% ');
    expect(progressLine({ ...base, done: 1000, total: 1000, seconds: 1 })).toContain(' 100% 0 MB/s ETA 0:00:00');
    expect(progressLine({ ...base, done: 1500, total: 1000, seconds: 1 })).toContain(' 100% 0 MB/s ETA 0:00:00');
  });

  it('no time left before anything was read', () => {
    expect(progressLine({ ...base, done: 0, total: 1e9, seconds: 0 })).toBe('mask: 0 B of 1.00 GB 0% ETA --:--:-- public.customer');
    expect(progressLine({ ...base, done: 0, total: 1e9, seconds: 2 })).toBe('mask: 0 B of 1.00 GB 0% 0 MB/s ETA --:--:-- public.customer');
  });

  it('with the size unknown (a pipe): bytes and rate only, as before', () => {
    expect(progressLine({ ...base, done: 250e6, total: undefined, seconds: 10 })).toBe('mask: 250.0 MB 25 MB/s public.customer');
    expect(progressLine({ label: 'unmask', done: 1500, total: undefined, seconds: 0, table: undefined })).toBe('unmask: 1.5 kB');
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript) console.warn('progress.test.ts: util-linux `script` not found: the pseudo-terminal case is SKIPPED');

describe.skipIf(!hasScript)('the progress line on a terminal', () => {
  let dir = '';
  let dump = '';
  let rules = '';
  let key = '';

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-progress-'));
    dump = path.join(dir, 'dump.sql');
    rules = path.join(dir, 'rules.yaml');
    key = path.join(dir, 'k');
    // 21 MB: far more than the pipe and the run's own buffers hold while the reader sleeps.
    const rows: string[] = [];
    for (let i = 1; i <= 300_000; i++) rows.push(`${i}\tperson number ${i} with a name long enough\tp${i}@example.com`);
    writeFileSync(dump, `CREATE TABLE public.person (id integer, name text, email text);\n\nCOPY public.person (id, name, email) FROM stdin;\n${rows.join('\n')}\n\\.\n\n-- PostgreSQL database dump complete\n\n`);
    writeFileSync(rules, 'tables:\n  person:\n    columns:\n      name: placeholder\n      email: placeholder\n');
    runPgcloakOk(['keygen', '--output', key, '-q']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The lines pgcloak drew on the terminal (stderr) while a reader that sleeps first holds its stdout back. */
  function terminalLines(input: string, vault: string): string[] {
    const mask = `"${process.execPath}" bin/pgcloak.js mask --rules "${rules}" --vault "${path.join(dir, vault)}" --key-file "${key}"`;
    const command = `${input.replace('MASK', mask)} | (sleep 1.5; cat > /dev/null)`;
    const r = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TERM: 'dumb' } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    return r.stdout.split(/[\r\n]+/).map((l) => l.replaceAll('\x1b[K', '').trim()).filter((l) => l.startsWith('mask: '));
  }

  // The first line may come before the first byte is read, or before the first table.
  const known = /^mask: [\d.]+ [kMG]?B of 21\.\d MB \d{1,3}% (\d+ MB\/s )?ETA (\d+:\d\d:\d\d|--:--:--)( public\.person)?$/;

  it('--input FILE: percent done and time left', () => {
    const lines = terminalLines('MASK --input "DUMP"'.replace('DUMP', dump), 'a.vault');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => known.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => / [1-9]\d?% \d+ MB\/s ETA \d+:\d\d:\d\d public\.person$/.test(l)), lines.join('\n')).toBe(true);
  });

  it('stdin redirected from a file: the same', () => {
    const lines = terminalLines(`MASK < "${dump}"`, 'b.vault');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => known.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => / [1-9]\d?% \d+ MB\/s ETA \d+:\d\d:\d\d public\.person$/.test(l)), lines.join('\n')).toBe(true);
  });

  it('a pipe: bytes and rate, no percent and no time left', () => {
    const lines = terminalLines(`cat "${dump}" | MASK`, 'c.vault');
    expect(lines.some((l) => / \d+ MB\/s public\.person$/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.every((l) => /^mask: [\d.]+ [kMG]?B( \d+ MB\/s)?( public\.person)?$/.test(l)), lines.join('\n')).toBe(true);
  });
});
