// The large-dump smoke test: a generated dump of about 200 MB masked and unmasked byte for
// byte by the CLI, each run's peak RSS read from /proc (VmHWM) and bounded, so a memory
// regression fails the build. Not timed: a slow machine must not fail it.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Peak RSS allowed: issue 5's 150 MB, on one thread and with this 2-core machine's default (the
 * main thread and one worker). Measured on this 200 MB dump: 88-92 MB on one thread, 112-119 MB
 * with a worker (1 GiB: 123-131 for mask, 127-133 for unmask, the same at 4 GiB; bench/RESULTS.md). Each further
 * worker (machines with more cores) has a V8 isolate of its own and the memory its optimizing
 * compiler mallocs at its peak (up to 50 MB measured), which glibc keeps in that thread's arena.
 */
const RSS_LIMIT_MB = 150;
const RSS_PER_EXTRA_WORKER_MB = 50;

interface Measured {
  code: number;
  maxRssMB: number;
}

/** Runs the CLI in bench/in-process.js (which reports VmHWM on fd 3), stdin and stdout from and to files. */
function measured(args: string[], input: string, output: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const inFd = openSync(input, 'r');
    const outFd = openSync(output, 'w');
    const child = spawn(process.execPath, ['bench/in-process.js', 'pgcloak', ...args, '--quiet'], { stdio: [inFd, outFd, 'inherit', 'pipe'] });
    let report = '';
    child.stdio[3]!.on('data', (d) => (report += d));
    child.on('error', reject);
    child.on('close', () => {
      closeSync(inFd);
      closeSync(outFd);
      try {
        const r = JSON.parse(report) as { code: number; maxRssKiB: number };
        resolve({ code: r.code, maxRssMB: r.maxRssKiB / 1024 });
      } catch {
        reject(new Error(`no report from ${args.join(' ')}`));
      }
    });
  });
}

async function sameFiles(a: string, b: string): Promise<boolean> {
  // Streams, not whole files: 200 MB twice is no way to test memory.
  const ia = createReadStream(a, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
  const ib = createReadStream(b, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
  let restA: Buffer = Buffer.alloc(0);
  let restB: Buffer = Buffer.alloc(0);
  for (;;) {
    if (restA.length === 0) restA = ((await ia.next()).value as Buffer | undefined) ?? Buffer.alloc(0);
    if (restB.length === 0) restB = ((await ib.next()).value as Buffer | undefined) ?? Buffer.alloc(0);
    if (restA.length === 0 || restB.length === 0) return restA.length === restB.length;
    const n = Math.min(restA.length, restB.length);
    if (!restA.subarray(0, n).equals(restB.subarray(0, n))) return false;
    restA = restA.subarray(n);
    restB = restB.subarray(n);
  }
}


describe('a 200 MB dump', () => {
  const dump = join(dir, 'erp.sql');
  // The bench's heavy case: every row of the biggest tables masked.
  const rules = 'bench/rules/heavy.yaml';
  const key = join(dir, 'k');

  it('is masked and unmasked byte for byte with bounded peak RSS, on one thread and on all', async () => {
    const gen = spawnSync(process.execPath, ['bench/generate.js', '--size', '200MB', '--output', dump], { encoding: 'utf8' });
    expect(gen.status).toBe(0);
    expect(spawnSync(process.execPath, ['bin/pgcloak.js', 'keygen', '--output', key, '--quiet']).status).toBe(0);
    const threads = Math.max(2, availableParallelism());
    const report: string[] = [];
    for (const t of [1, threads]) {
      const vault = join(dir, `t${t}.vault`);
      const masked = join(dir, `masked-${t}.sql`);
      const back = join(dir, `back-${t}.sql`);
      const mask = await measured(['mask', '--rules', rules, '--vault', vault, '--key-file', key, '--threads', String(t)], dump, masked);
      expect(mask.code).toBe(0);
      const unmask = await measured(['unmask', '--vault', vault, '--key-file', key, '--threads', String(t)], masked, back);
      expect(unmask.code).toBe(0);
      expect(await sameFiles(back, dump)).toBe(true);
      if (t > 1) expect(await sameFiles(masked, join(dir, 'masked-1.sql'))).toBe(true);
      rmSync(back);
      const limit = RSS_LIMIT_MB + Math.max(0, t - 2) * RSS_PER_EXTRA_WORKER_MB;
      report.push(`--threads ${t}: mask ${mask.maxRssMB.toFixed(0)} MB, unmask ${unmask.maxRssMB.toFixed(0)} MB peak RSS (limit ${limit} MB)`);
      expect(mask.maxRssMB).toBeLessThan(limit);
      expect(unmask.maxRssMB).toBeLessThan(limit);
    }
    process.stderr.write(`large dump: ${report.join('; ')}\n`);
  }, 600_000);
});

/**
 * Issue 18: one value of 200 MB (a document in a bytea column) costs at most twice its size
 * beyond the bound above: the row gathered once, in place, as it arrives, and its original
 * once more in its vault record, sealed where it lies. Measured on this 2-core machine, COPY
 * and INSERT alike: 471-475 MB masked, 285 MB in a column no rule names (the row only; 490 MB
 * for INSERTs while the run of statements before it went to a worker and the row's output was
 * copied to wait behind it). Time grows with the value's length,
 * not its square (test/dump/sql-scanner.test.ts counts the bytes examined; bench/long-lines.js
 * times it): one value of 200 MB took 257 s to mask before, and did not finish in 300 s unmasked.
 */
describe('a dump with one value of 200 MB', () => {
  const key = join(dir, 'long.k');
  const VALUE_BYTES = 200_000_000;
  const threads = Math.max(2, availableParallelism());
  const limit = RSS_LIMIT_MB + Math.max(0, threads - 2) * RSS_PER_EXTRA_WORKER_MB + (2 * VALUE_BYTES) / 2 ** 20;

  /** The dump of that form (bench/generate-long.js), made once. */
  function dumpOf(form: 'COPY' | 'INSERT'): string {
    const dump = join(dir, `long-${form}.sql`);
    if (!existsSync(dump)) {
      const gen = spawnSync(process.execPath, ['bench/generate-long.js', '--value', String(VALUE_BYTES), '--output', dump, ...(form === 'INSERT' ? ['--inserts'] : [])], { encoding: 'utf8' });
      expect(gen.status).toBe(0);
    }
    if (!existsSync(key)) expect(spawnSync(process.execPath, ['bin/pgcloak.js', 'keygen', '--output', key, '--quiet']).status).toBe(0);
    return dump;
  }

  it.each([
    ['COPY', 'the value masked', 'db_datas'],
    ['COPY', 'the value in a column no rule names', 'name'],
    ['INSERT', 'the value masked', 'db_datas'],
    ['INSERT', 'the value in a column no rule names', 'name'],
  ] as const)('in %s form is masked, %s, with peak RSS under the bound plus twice the value', async (form, _case, column) => {
    const dump = dumpOf(form);
    const rules = join(dir, `long-${column}.yaml`);
    writeFileSync(rules, `tables:\n  ir_attachment:\n    columns: {${column}: placeholder}\n`);
    const masked = join(dir, `long-${form}-${column}.sql`);
    const mask = await measured(['mask', '--rules', rules, '--vault', join(dir, `long-${form}-${column}.vault`), '--key-file', key, '--threads', String(threads)], dump, masked);
    expect(mask.code).toBe(0);
    // The value is gone from the output, or passed through whole.
    const size = statSync(masked).size;
    if (column === 'db_datas') expect(size).toBeLessThan(100_000);
    else expect(size).toBeGreaterThan(VALUE_BYTES);
    rmSync(masked);
    process.stderr.write(`long value, ${form}, ${column} masked: ${mask.maxRssMB.toFixed(0)} MB peak RSS (limit ${limit.toFixed(0)} MB)\n`);
    expect(mask.maxRssMB).toBeLessThan(limit);
  }, 600_000);

  it('of several, one after another: each freed at once, the bound is twice the longest, not their sum', async () => {
    // Left to the garbage collector, 4 values of 100 MB took 546 MB masked, 362 MB not.
    const each = 70_000_000;
    const several = join(dir, 'several.sql');
    const gen = spawnSync(process.execPath, ['bench/generate-long.js', '--value', String(each), '--count', '3', '--output', several], { encoding: 'utf8' });
    expect(gen.status).toBe(0);
    dumpOf('COPY');
    const rules = join(dir, 'several.yaml');
    writeFileSync(rules, 'tables:\n  ir_attachment:\n    columns: {db_datas: placeholder}\n');
    const mask = await measured(['mask', '--rules', rules, '--vault', join(dir, 'several.vault'), '--key-file', key, '--threads', String(threads)], several, join(dir, 'several-out.sql'));
    expect(mask.code).toBe(0);
    const severalLimit = limit - (2 * VALUE_BYTES) / 2 ** 20 + (2 * each) / 2 ** 20;
    process.stderr.write(`three values of 70 MB, masked: ${mask.maxRssMB.toFixed(0)} MB peak RSS (limit ${severalLimit.toFixed(0)} MB)\n`);
    expect(mask.maxRssMB).toBeLessThan(severalLimit);
  }, 600_000);
});
