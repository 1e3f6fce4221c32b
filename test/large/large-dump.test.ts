// The large-dump smoke test: a generated dump of about 200 MB masked and unmasked byte for
// byte by the CLI, each run's peak RSS read from /proc (VmHWM) and bounded, so a memory
// regression fails the build. Not timed: a slow machine must not fail it.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync } from 'node:fs';
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
