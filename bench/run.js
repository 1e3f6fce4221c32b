#!/usr/bin/env node
// `npm run bench`: throughput and memory of mask and unmask against a pass-through
// baseline measured in the same run, on a generated ERP-shaped dump.
//   npm run bench -- --size 1GiB [--repeat 3]
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option } from './options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const size = option('size', '256MiB');
const repeat = Number(option('repeat', '3'));
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a whole number of rounds, got ${option('repeat')}`);
const data = join(root, 'bench', 'data');
mkdirSync(data, { recursive: true });
const dump = join(data, `erp-${size}.sql`);
if (!existsSync(dump)) {
  await run(process.execPath, [join(root, 'bench', 'generate.js'), '--size', size, '--output', dump], 'ignore', 'inherit');
}
const insertsDump = join(data, `erp-${size}-inserts.sql`);
if (!existsSync(insertsDump)) {
  await run(process.execPath, [join(root, 'bench', 'generate.js'), '--size', size, '--inserts', '--output', insertsDump], 'ignore', 'inherit');
}
const bytes = statSync(dump).size;
const rows = countRows(dump);
const insertRows = countRows(insertsDump);

// The rules of each case: bench/rules/*.yaml (heavy is also test/large's), and none.
const rules = {
  none: 'tables: {}\n',
  odoo: readFileSync(join(root, 'bench', 'rules', 'odoo.yaml'), 'utf8'),
  heavy: readFileSync(join(root, 'bench', 'rules', 'heavy.yaml'), 'utf8'),
};
const work = join(data, 'run');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const key = join(work, 'bench.key');
for (const [name, text] of Object.entries(rules)) writeFileSync(join(work, `${name}.yaml`), text);
await run(process.execPath, [join(root, 'bin', 'pgcloak.js'), 'keygen', '--output', key, '--quiet'], 'ignore', 'ignore');

const cli = (a) => [join(root, 'bench', 'in-process.js'), 'pgcloak', ...a, '--quiet'];
const heavyArgs = ['mask', '--rules', join(work, 'heavy.yaml'), '--key-file', key];
// Every timed case writes its output to /dev/null, as the baseline does. The masked dump that
// unmask reads is made once beforehand, untimed (writing it to disk in a timed case would
// time the disk's writeback of a gigabyte that no user's pipe has).
const masked = join(work, 'heavy.sql');
const prep = JSON.parse(await run(process.execPath, cli([...heavyArgs, '--vault', join(work, 'unmask.vault')]), dump, masked));
if (prep.code !== 0) throw new Error(`masking the input of unmask: exit ${prep.code}`);
const cases = [
  ['pass-through baseline (node stdin → stdout)', [join(root, 'bench', 'in-process.js'), 'passthrough'], dump],
  ['mask, no rules', cli(['mask', '--rules', join(work, 'none.yaml'), '--vault', join(work, 'none.vault'), '--key-file', key]), dump],
  ['mask, Odoo-style rules', cli(['mask', '--rules', join(work, 'odoo.yaml'), '--vault', join(work, 'odoo.vault'), '--key-file', key]), dump],
  ['mask, heavy rules (vault on)', cli([...heavyArgs, '--vault', join(work, 'heavy.vault')]), dump],
  ['mask, heavy rules, --threads 1', cli([...heavyArgs, '--vault', join(work, 'heavy1.vault'), '--threads', '1']), dump],
  ['unmask, heavy rules', cli(['unmask', '--vault', join(work, 'unmask.vault'), '--key-file', key]), masked],
  ['mask, INSERT form, heavy rules', cli([...heavyArgs, '--vault', join(work, 'inserts.vault')]), insertsDump],
];

// Which COPY kernel the runs get (the CLI loads the same one): native, not built, or off.
const { nativeStatus } = await import('../dist/engine/native.js');
console.log(`pgcloak bench: ${dump} (${(bytes / 2 ** 20).toFixed(0)} MiB, ${rows} rows); node ${process.version}, ${cpus().length} CPUs, ${cpus()[0]?.model ?? ''}; mask --threads default ${availableParallelism()}; COPY kernel: ${nativeStatus()}; ${repeat} round(s)`);
// Rounds, each running every case once: a machine's slow minute (its disk's writeback, a
// neighbour's load) then falls on every case alike, and each ratio is taken within its round.
const runs = cases.map(() => []);
for (let round = 0; round < repeat; round++) {
  for (const [i, [label, argv, input]] of cases.entries()) {
    // A mask case writes a new vault, as a user's run does: replacing the last round's would
    // time the freeing of a gigabyte of it too (0.3-1.6 s of system time at the rename).
    const vault = argv.includes('mask') ? argv[argv.indexOf('--vault') + 1] : undefined;
    if (vault) rmSync(vault, { force: true });
    settleDisk();
    const start = process.hrtime.bigint();
    const stats = JSON.parse(await run(process.execPath, argv, input, '/dev/null'));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (stats.code !== 0) throw new Error(`${label}: exit ${stats.code}`);
    runs[i].push({ seconds, cpu: (stats.userUs + stats.systemUs) / 1e6, rss: stats.maxRssKiB / 1024 });
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const lines = [
  '| case | MB/s | rows/s | × baseline | (rounds) | CPU s | peak RSS MB |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...cases.map(([label, , input], i) => {
    const size = statSync(input).size;
    const n = input === insertsDump ? insertRows : rows;
    const seconds = median(runs[i].map((r) => r.seconds));
    // Ratios compare throughput (MB/s), so an input of another size (the INSERT form) compares fairly.
    const ratios = runs[i].map((r, k) => (size / r.seconds) / (bytes / runs[0][k].seconds));
    const range = repeat > 1 ? `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}` : '';
    const cpu = median(runs[i].map((r) => r.cpu));
    const rss = Math.max(...runs[i].map((r) => r.rss));
    return `| ${label} | ${(size / 1e6 / seconds).toFixed(0)} | ${(n / seconds / 1e6).toFixed(2)} M | ${median(ratios).toFixed(2)} | ${range} | ${cpu.toFixed(1)} | ${rss.toFixed(0)} |`;
  }),
];
console.log(lines.join('\n'));
console.log(`MB/s and rows/s from each case's median time; × baseline the median of its rounds' ratios (each against the baseline of the same round), with their range; CPU s the median; peak RSS the largest.`);
rmSync(masked);

/**
 * Writes back what earlier cases (and the untimed masked dump) left dirty, so that no case
 * pays for another's writeback: a case's own vault is synced by the case itself.
 */
function settleDisk() {
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // no sync(1): the rounds still share the disk alike
  }
}

/** Spawns a command with stdin/stdout from files; resolves with what it wrote on fd 3. */
function run(cmd, argv, input, output) {
  return new Promise((resolve, reject) => {
    const inFd = input === 'ignore' ? 'ignore' : openSync(input, 'r');
    const outFd = output === 'ignore' || output === 'inherit' ? output : openSync(output, 'w');
    const child = spawn(cmd, argv, { stdio: [inFd, outFd, 'inherit', 'pipe'] });
    let report = '';
    child.stdio[3]?.on('data', (d) => (report += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (typeof inFd === 'number') closeSync(inFd);
      if (typeof outFd === 'number') closeSync(outFd);
      if (code !== 0 && report === '') reject(new Error(`${cmd} ${argv.join(' ')}: exit ${code}`));
      else resolve(report);
    });
  });
}

function countRows(file) {
  // Data lines inside COPY blocks, and INSERT statements: a check that the input is what we
  // think, before timing. Read line by line in chunks: the file may be larger than a string.
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  let inCopy = false;
  let carry = '';
  for (let got; (got = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
    const lines = (carry + buf.toString('latin1', 0, got)).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      if (inCopy) {
        if (line === '\\.') inCopy = false;
        else n++;
      } else if (line.startsWith('COPY ')) inCopy = true;
      else if (line.startsWith('INSERT INTO ')) n++;
    }
  }
  closeSync(fd);
  return n;
}
