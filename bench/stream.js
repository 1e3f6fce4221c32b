#!/usr/bin/env node
// The stream API's cost (issue 20): `pgcloak mask` against the same run through
// createMaskStream in pipeline(fs.createReadStream(dump), mask, stdout), and the same for
// unmask, each next to a pass-through baseline of the same run, on bench/generate.js's dump.
//   node bench/stream.js --size 256MiB [--repeat 3]
// Every case runs in its own process (peak RSS is the process's), one thread, output /dev/null.
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { option } from './options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Chunks the streams are fed: fs.createReadStream's default is 64 KiB. */
const READ_CHUNK = Number(option('chunk', String(64 * 1024)));

if (process.argv[2] === '--child') {
  // A case, in this process: `--child stream-mask|stream-unmask|direct-mask RULES KEY VAULT INPUT`, `--child passthrough INPUT`, or `--child cli ARGS...`.
  const [, , , what, ...rest] = process.argv;
  let code = 0;
  if (what === 'cli') {
    const { main } = await import('../dist/cli/main.js');
    code = await main(rest);
  } else if (what === 'passthrough') {
    await pipeline(createReadStream(rest[0], { highWaterMark: READ_CHUNK }), process.stdout);
  } else {
    const lib = await import('../dist/index.js');
    const [rulesPath, keyPath, vaultPath, input] = rest;
    const vault = { path: vaultPath, keySource: { kind: 'key', key: lib.readKeyFile(keyPath) } };
    const source = createReadStream(input, { highWaterMark: READ_CHUNK });
    const rules = () => lib.parseRules(readFileSync(rulesPath, 'utf8'));
    if (what === 'direct-mask') {
      // maskDump over the same Readable: what the stream's adapter adds is the difference.
      await lib.maskDump({ rules: rules(), vault, threads: 1, input: source, output: process.stdout });
    } else if (what === 'stream-mask') {
      await pipeline(source, lib.createMaskStream({ rules: rules(), vault, threads: 1 }), process.stdout);
    } else {
      await pipeline(source, lib.createUnmaskStream({ vault, threads: 1 }), process.stdout);
    }
  }
  const ru = process.resourceUsage();
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  writeSync(3, JSON.stringify({ code, maxRssKiB: hwm ? Number(hwm[1]) : ru.maxRSS, cpuUs: ru.userCPUTime + ru.systemCPUTime }));
  process.exit(code);
}

const size = option('size', '256MiB');
const repeat = Number(option('repeat', '3'));
const data = join(root, 'bench', 'data');
mkdirSync(data, { recursive: true });
const dump = join(data, `erp-${size}.sql`);
if (!existsSync(dump)) await run(process.execPath, [join(root, 'bench', 'generate.js'), '--size', size, '--output', dump], 'ignore', 'inherit');
const bytes = statSync(dump).size;
const work = join(data, 'stream-run');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const key = join(work, 'bench.key');
const rules = join(root, 'bench', 'rules', 'heavy.yaml');
const cli = (...a) => [fileURLToPath(import.meta.url), '--child', 'cli', ...a, '--quiet', '--threads', '1'];
const child = (...a) => [fileURLToPath(import.meta.url), '--child', ...a];
await run(process.execPath, [join(root, 'bin', 'pgcloak.js'), 'keygen', '--output', key, '--quiet'], 'ignore', 'ignore');
const masked = join(work, 'masked.sql');
const prep = JSON.parse(await run(process.execPath, cli('mask', '--rules', rules, '--key-file', key, '--vault', join(work, 'unmask.vault'), '--input', dump), 'ignore', masked));
if (prep.code !== 0) throw new Error(`masking the input of unmask: exit ${prep.code}`);

const cases = [
  ['pass-through (createReadStream → stdout)', () => child('passthrough', dump)],
  ['mask, heavy rules: CLI', (v) => cli('mask', '--rules', rules, '--key-file', key, '--vault', v, '--input', dump)],
  ['mask, heavy rules: maskDump(createReadStream)', (v) => child('direct-mask', rules, key, v, dump)],
  ['mask, heavy rules: createMaskStream', (v) => child('stream-mask', rules, key, v, dump)],
  ['unmask: CLI', () => cli('unmask', '--key-file', key, '--vault', join(work, 'unmask.vault'), '--input', masked)],
  ['unmask: createUnmaskStream', () => child('stream-unmask', rules, key, join(work, 'unmask.vault'), masked)],
];
const { nativeStatus } = await import('../dist/engine/native.js');
console.log(`pgcloak stream bench: ${dump} (${(bytes / 2 ** 20).toFixed(0)} MiB); node ${process.version}, ${cpus().length} CPUs, ${cpus()[0]?.model ?? ''}; COPY kernel: ${nativeStatus()}; stream chunks ${READ_CHUNK} bytes; ${repeat} round(s)`);
const runs = cases.map(() => []);
for (let round = 0; round < repeat; round++) {
  for (const [i, [, argv]] of cases.entries()) {
    const vault = join(work, `case${i}.vault`);
    rmSync(vault, { force: true });
    execFileSync('sync', { stdio: 'ignore' });
    const start = process.hrtime.bigint();
    const stats = JSON.parse(await run(process.execPath, argv(vault), 'ignore', '/dev/null'));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (stats.code !== 0) throw new Error(`${cases[i][0]}: exit ${stats.code}`);
    runs[i].push({ seconds, cpu: stats.cpuUs / 1e6, rss: stats.maxRssKiB / 1024 });
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log('| case | MB/s | CPU s | peak RSS MB |\n|---|---:|---:|---:|');
for (const [i, [label]] of cases.entries()) {
  const input = label.startsWith('unmask') ? statSync(masked).size : bytes;
  const seconds = median(runs[i].map((r) => r.seconds));
  console.log(`| ${label} | ${(input / 1e6 / seconds).toFixed(0)} | ${median(runs[i].map((r) => r.cpu)).toFixed(1)} | ${Math.max(...runs[i].map((r) => r.rss)).toFixed(0)} |`);
}
console.log("MB/s from each case's median time; CPU s the median; peak RSS the largest.");
rmSync(work, { recursive: true, force: true });

/** Spawns a command with stdin/stdout from files; resolves with what it wrote on fd 3. */
function run(cmd, argv, input, output) {
  return new Promise((resolve, reject) => {
    const inFd = input === 'ignore' ? 'ignore' : openSync(input, 'r');
    const outFd = output === 'ignore' || output === 'inherit' ? output : openSync(output, 'w');
    const p = spawn(cmd, argv, { stdio: [inFd, outFd, 'inherit', 'pipe'] });
    let report = '';
    p.stdio[3]?.on('data', (d) => (report += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 || report !== '' ? resolve(report || '{}') : reject(new Error(`${cmd} ${argv.join(' ')}: exit ${code}`))));
  });
}
