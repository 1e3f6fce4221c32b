#!/usr/bin/env node
// `npm run bench`: throughput and memory of mask and unmask against a pass-through
// baseline measured in the same run, on a generated ERP-shaped dump.
//   npm run bench -- --size 1GiB
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option } from './options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const size = option('size', '256MiB');
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
const cases = [
  ['pass-through baseline (node stdin → stdout)', [join(root, 'bench', 'in-process.js'), 'passthrough'], dump, '/dev/null'],
  ['mask, no rules', cli(['mask', '--rules', join(work, 'none.yaml'), '--vault', join(work, 'none.vault'), '--key-file', key]), dump, '/dev/null'],
  ['mask, Odoo-style rules', cli(['mask', '--rules', join(work, 'odoo.yaml'), '--vault', join(work, 'odoo.vault'), '--key-file', key]), dump, '/dev/null'],
  ['mask, heavy rules (vault on)', cli(['mask', '--rules', join(work, 'heavy.yaml'), '--vault', join(work, 'heavy.vault'), '--key-file', key]), dump, join(work, 'heavy.sql')],
  ['mask, heavy rules, --threads 1', cli(['mask', '--rules', join(work, 'heavy.yaml'), '--vault', join(work, 'heavy1.vault'), '--key-file', key, '--threads', '1']), dump, '/dev/null'],
  ['unmask, heavy rules', cli(['unmask', '--vault', join(work, 'heavy.vault'), '--key-file', key]), join(work, 'heavy.sql'), '/dev/null'],
  ['mask, INSERT form, heavy rules', cli(['mask', '--rules', join(work, 'heavy.yaml'), '--vault', join(work, 'inserts.vault'), '--key-file', key]), insertsDump, '/dev/null'],
];

// Which COPY kernel the runs get (the CLI loads the same one): native, not built, or off.
const { nativeStatus } = await import('../dist/native.js');
console.log(`pgcloak bench: ${dump} (${(bytes / 2 ** 20).toFixed(0)} MiB, ${rows} rows); node ${process.version}, ${cpus().length} CPUs, ${cpus()[0]?.model ?? ''}; mask --threads default ${availableParallelism()}; COPY kernel: ${nativeStatus()}`);
const results = [];
for (const [label, argv, input, output] of cases) {
  const start = process.hrtime.bigint();
  const stats = JSON.parse(await run(process.execPath, argv, input, output));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (stats.code !== 0) throw new Error(`${label}: exit ${stats.code}`);
  results.push({ label, seconds, bytes: statSync(input).size, rows: input === insertsDump ? insertRows : rows, cpu: (stats.userUs + stats.systemUs) / 1e6, rss: stats.maxRssKiB / 1024 });
}
const base = results[0].seconds;
const lines = [
  '| case | MB/s | rows/s | × baseline | CPU s | peak RSS MB |',
  '|---|---:|---:|---:|---:|---:|',
  // Ratios compare throughput (MB/s), so an input of another size (the INSERT form) compares fairly.
  ...results.map((r) => `| ${r.label} | ${(r.bytes / 1e6 / r.seconds).toFixed(0)} | ${(r.rows / r.seconds / 1e6).toFixed(2)} M | ${(r.bytes / r.seconds / (bytes / base)).toFixed(2)} | ${r.cpu.toFixed(1)} | ${r.rss.toFixed(0)} |`),
];
console.log(lines.join('\n'));
const back = join(work, 'heavy.sql');
if (existsSync(back)) rmSync(back);

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
