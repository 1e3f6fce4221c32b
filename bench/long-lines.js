#!/usr/bin/env node
// `npm run bench:long`: masking one very long value (a document in a bytea column, as
// ir_attachment.db_datas holds them) against masking as many bytes of ordinary rows, in the
// same rounds: time must grow with the value's length, not its square, and memory by about
// twice the value at most (issue 18).
//   npm run bench:long -- [--size 200MB] [--repeat 3]
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option } from './options.js';
import { parseSize } from './size.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const size = option('size', '200MB');
const repeat = Number(option('repeat', '3'));
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a whole number of rounds, got ${option('repeat')}`);
const valueBytes = parseSize(size);
const data = join(root, 'bench', 'data');
const work = join(data, 'long-run');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const ordinary = join(data, `erp-${size}.sql`);
if (!existsSync(ordinary)) {
  const gen = spawnSync(process.execPath, [join(root, 'bench', 'generate.js'), '--size', size, '--output', ordinary], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (gen.status !== 0) throw new Error('generating the ordinary dump failed');
}
const copyDump = join(data, `long-copy-${size}.sql`);
const insertDump = join(data, `long-insert-${size}.sql`);
for (const [dump, form] of [[copyDump, []], [insertDump, ['--inserts']]]) {
  if (existsSync(dump)) continue;
  const gen = spawnSync(process.execPath, [join(root, 'bench', 'generate-long.js'), '--value', size, '--output', dump, ...form], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (gen.status !== 0) throw new Error('generating the dump with the long value failed');
}
// The check before timing: each dump holds the one long value, whole.
for (const dump of [copyDump, insertDump]) {
  const longest = longestLine(dump);
  if (longest < valueBytes) throw new Error(`${dump}: its longest line has ${longest} bytes, not the ${valueBytes} of the value`);
}

const rules = {
  heavy: join(root, 'bench', 'rules', 'heavy.yaml'),
  masked: writeRules('masked', 'ir_attachment:\n    columns: {db_datas: placeholder}'),
  unmasked: writeRules('unmasked', 'ir_attachment:\n    columns: {name: placeholder}'),
  unruled: writeRules('unruled', 'res_partner:\n    columns: {name: placeholder}'),
};
const key = join(work, 'bench.key');
spawnSync(process.execPath, [join(root, 'bin', 'pgcloak.js'), 'keygen', '--output', key, '--quiet']);

const mask = (rulesFile, name) => [join(root, 'bench', 'in-process.js'), 'pgcloak', 'mask', '--rules', rulesFile, '--key-file', key, '--vault', join(work, `${name}.vault`), '--quiet'];
const cases = [
  [`${size} of ordinary rows, heavy rules`, mask(rules.heavy, 'ordinary'), ordinary],
  ['one value, masked (COPY)', mask(rules.masked, 'copy-masked'), copyDump],
  ['one value, unmasked column of a ruled table (COPY)', mask(rules.unmasked, 'copy-unmasked'), copyDump],
  ['one value, masked (INSERT)', mask(rules.masked, 'insert-masked'), insertDump],
  ['one value, unmasked column of a ruled table (INSERT)', mask(rules.unmasked, 'insert-unmasked'), insertDump],
  ['one value, table without rules (INSERT)', mask(rules.unruled, 'insert-unruled'), insertDump],
];

console.log(`pgcloak long-lines bench: one value of ${valueBytes} bytes against ${statSync(ordinary).size} bytes of ordinary rows; node ${process.version}, ${cpus().length} CPUs, ${cpus()[0]?.model ?? ''}; ${repeat} round(s)`);
const runs = cases.map(() => []);
for (let round = 0; round < repeat; round++) {
  for (const [i, [label, argv, input]] of cases.entries()) {
    rmSync(argv[argv.indexOf('--vault') + 1], { force: true });
    const start = process.hrtime.bigint();
    const stats = JSON.parse(await run(argv, input));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (stats.code !== 0) throw new Error(`${label}: exit ${stats.code}`);
    runs[i].push({ seconds, rss: stats.maxRssKiB / 1024 });
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ordinaryRss = Math.max(...runs[0].map((r) => r.rss));
console.log(
  [
    '| case | MB/s | s | × time of ordinary rows | (rounds) | peak RSS MB | (RSS − ordinary) / value |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...cases.map(([label, , input], i) => {
      const bytes = statSync(input).size;
      const seconds = median(runs[i].map((r) => r.seconds));
      // Time against the ordinary case of the same round.
      const ratios = runs[i].map((r, k) => r.seconds / runs[0][k].seconds);
      const range = repeat > 1 ? `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}` : '';
      const rss = Math.max(...runs[i].map((r) => r.rss));
      const perValue = i === 0 ? '' : ((rss - ordinaryRss) / (valueBytes / 2 ** 20)).toFixed(2);
      return `| ${label} | ${(bytes / 1e6 / seconds).toFixed(0)} | ${seconds.toFixed(2)} | ${median(ratios).toFixed(2)} | ${range} | ${rss.toFixed(0)} | ${perValue} |`;
    }),
  ].join('\n'),
);
console.log('s: median time; × the median of its rounds\' ratios to the ordinary case of the same round, with their range; peak RSS the largest.');
rmSync(work, { recursive: true, force: true });

function writeRules(name, table) {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, `tables:\n  ${table}\n`);
  return file;
}

/** The longest line of `file`, read in chunks. */
function longestLine(file) {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let longest = 0;
  let current = 0;
  for (let got; (got = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
    let from = 0;
    for (let nl = buf.indexOf(10, from); nl !== -1 && nl < got; nl = buf.indexOf(10, from)) {
      longest = Math.max(longest, current + nl - from);
      current = 0;
      from = nl + 1;
    }
    current += got - from;
  }
  closeSync(fd);
  return Math.max(longest, current);
}

/** Runs `argv` with stdin from `input`, stdout to /dev/null; resolves with its fd 3 report. */
function run(argv, input) {
  return new Promise((resolve, reject) => {
    const inFd = openSync(input, 'r');
    const outFd = openSync('/dev/null', 'w');
    const child = spawn(process.execPath, argv, { stdio: [inFd, outFd, 'inherit', 'pipe'] });
    let report = '';
    child.stdio[3]?.on('data', (d) => (report += d));
    child.on('error', reject);
    child.on('close', (code) => {
      closeSync(inFd);
      closeSync(outFd);
      if (report === '') reject(new Error(`${argv.join(' ')}: exit ${code}`));
      else resolve(report);
    });
  });
}
