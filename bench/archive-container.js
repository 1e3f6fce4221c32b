#!/usr/bin/env node
// The archive container layer alone (src/archive, issue 16), against pg_dump writing the same
// archives: a generated ERP-shaped database (bench/generate.js) is loaded into a throwaway
// cluster (bench/pg-cluster.js) and dumped with -Fc and -Fd; then, each in its own process so
// its peak RSS is its own, pgcloak's container code reads and writes them back:
//   read -Fc                     every table decompressed, nothing written
//   rewrite -Fc                  decompressed and compressed again (what masking will cost, less the masking)
//   copy -Fc as stored           no zlib at all (tables without rules)
//   rewrite -Fd, 1 and 2 at once tables decompressed and compressed in parallel
// Rates are MB/s of table data (the decompressed COPY text); CPU seconds count every thread of
// the process (pg_dump's by GNU time: the client and its -j worker processes, not the server).
// On a shared machine the CPU seconds are the steadier figure. Needs `npm run build` first.
//   node bench/archive-container.js [--size 200MiB] [--runs 3]
import { execFileSync, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, option } from './options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => join(root, 'dist', 'archive', f);

if (flag('child')) {
  await child(option('case'), option('input'), option('output'));
} else {
  await main();
}

async function main() {
  const size = option('size', '200MiB');
  const runs = Number(option('runs', '3'));
  const data = join(root, 'bench', 'data');
  mkdirSync(data, { recursive: true });
  const dump = join(data, `erp-${size}.sql`);
  if (!existsSync(dump)) execFileSync(process.execPath, [join(root, 'bench', 'generate.js'), '--size', size, '--output', dump], { stdio: 'inherit' });
  const { startCluster } = await import('./pg-cluster.js');
  const pg = await startCluster();
  const work = join(data, 'archive-run');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    pg.psql('postgres', 'CREATE DATABASE erp;');
    execFileSync(join(pg.bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...pg.args('erp'), '-f', dump], { stdio: ['ignore', 'ignore', 'inherit'] });
    pg.psql('erp', 'VACUUM ANALYZE; CHECKPOINT;');
    const custom = join(work, 'erp.dump');
    const directory = join(work, 'erp-dir');
    const rows = [];
    const time = async (name, fn) => {
      const seconds = [];
      let last;
      for (let i = 0; i < runs; i++) {
        execFileSync('sync');
        const start = process.hrtime.bigint();
        last = await fn(i);
        seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
      }
      seconds.sort((a, b) => a - b);
      rows.push({ name, seconds: seconds[Math.floor(seconds.length / 2)], ...last });
    };
    // pg_dump's own CPU (its zlib work; not the server's) and peak RSS, by GNU time.
    const timed = async (args) => {
      const report = join(work, 'time.txt');
      await run('/usr/bin/time', ['-f', '%U %S %M', '-o', report, join(pg.bin, 'pg_dump'), ...args]);
      const [user, sys, rssKiB] = readFileSync(report, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
      return { cpu: user + sys, rssMB: rssKiB / 1024 };
    };
    await time('pg_dump -Fc (to a file)', async () => {
      rmSync(custom, { force: true });
      return timed(['-Fc', '-f', custom, ...pg.args('erp')]);
    });
    await time('pg_dump -Fd -j 2', async () => {
      rmSync(directory, { recursive: true, force: true });
      return timed(['-Fd', '-j', '2', '-f', directory, ...pg.args('erp')]);
    });
    // The amount of table data, from a read of the archive: the unit of every rate below.
    const probe = JSON.parse(await run(process.execPath, [fileURLToPath(import.meta.url), '--child', '--case', 'read-custom', '--input', custom]));
    const tableBytes = probe.tableBytes;
    if (!(tableBytes > 0)) throw new Error('no table data read from the archive');
    const cases = [
      ['read -Fc (decompress every table)', 'read-custom', custom, null],
      ['rewrite -Fc (decompress + compress)', 'rewrite-custom', custom, join(work, 'out.dump')],
      ['copy -Fc as stored (no zlib)', 'copy-custom', custom, join(work, 'copy.dump')],
      ['rewrite -Fd, 1 table at a time', 'rewrite-dir-1', directory, join(work, 'out-dir-1')],
      ['rewrite -Fd, 2 tables at a time', 'rewrite-dir-2', directory, join(work, 'out-dir-2')],
    ];
    for (const [name, kind, input, output] of cases) {
      await time(name, async () => {
        if (output) rmSync(output, { recursive: true, force: true });
        const r = JSON.parse(await run(process.execPath, [fileURLToPath(import.meta.url), '--child', '--case', kind, '--input', input, ...(output ? ['--output', output] : [])]));
        if (kind !== 'copy-custom' && r.tableBytes !== tableBytes) throw new Error(`${name}: read ${r.tableBytes} bytes of table data, expected ${tableBytes}`);
        return { rssMB: r.maxRssMB, cpu: r.cpuSeconds };
      });
    }
    const model = cpus()[0]?.model ?? 'unknown';
    const { loadavg } = await import('node:os');
    console.log(`\n${(tableBytes / 1e6).toFixed(0)} MB of table data; -Fc archive ${(statSync(custom).size / 1e6).toFixed(0)} MB; ${model}, ${cpus().length} CPUs, Node ${process.version}; median of ${runs}; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    console.log('| case | seconds | MB/s of table data | CPU seconds (all threads) | peak RSS MB |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.name} | ${r.seconds.toFixed(2)} | ${(tableBytes / 1e6 / r.seconds).toFixed(0)} | ${r.cpu?.toFixed(1) ?? '–'} | ${r.rssMB?.toFixed(0) ?? '–'} |`);
  } finally {
    pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** One case in this process; prints {tableBytes, maxRssMB}. */
async function child(kind, input, output) {
  const { CustomArchiveReader } = await import(dist('custom-reader.js'));
  const { CustomArchiveWriter } = await import(dist('custom-writer.js'));
  const { FdOutput } = await import(dist('archive-output.js'));
  const { DirectoryArchiveReader } = await import(dist('directory-reader.js'));
  const { DirectoryArchiveWriter } = await import(dist('directory-writer.js'));
  const { createReadStream } = await import('node:fs');
  let tableBytes = 0;
  /** Counts the bytes going by. */
  async function* counted(chunks) {
    for await (const c of chunks) {
      tableBytes += c.length;
      yield c;
    }
  }
  if (kind.endsWith('custom')) {
    const it = createReadStream(input, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
    const source = { next: async () => ((r) => (r.done ? null : r.value))(await it.next()) };
    const reader = await CustomArchiveReader.open(source, statSync(input).size);
    const writer = output ? await CustomArchiveWriter.begin(await FdOutput.create(output), reader.header, reader.toc) : null;
    for await (const block of reader.blocks()) {
      if (block.blockType !== 1) {
        if (writer) await writer.copyBlock(block, reader.header);
        else await block.skip();
      } else if (kind === 'read-custom') {
        for await (const _ of counted(block.data()));
      } else if (kind === 'rewrite-custom') {
        await writer.writeData(block.entry, counted(block.data()));
      } else {
        await writer.copyBlock(block, reader.header);
      }
    }
    await writer?.finish();
    // As stored, nothing is decompressed: there is no count to check.
    if (kind === 'copy-custom') tableBytes = -1;
  } else {
    const jobs = kind.endsWith('2') ? 2 : 1;
    const reader = await DirectoryArchiveReader.open(input);
    const writer = await DirectoryArchiveWriter.create(output, reader.header, reader.toc);
    // Largest first, as pg_dump -j and pg_restore -j order their work.
    const work = [];
    for (const entry of reader.toc.filter((e) => e.filename)) work.push({ entry, size: statSync((await reader.dataFile(entry)).path).size });
    work.sort((a, b) => b.size - a.size);
    const next = async () => {
      for (let w = work.shift(); w; w = work.shift()) {
        if (w.entry.desc === 'BLOBS') await writer.copyData(w.entry, reader);
        else await writer.writeData(w.entry, counted(reader.data(w.entry)));
      }
    };
    await Promise.all(Array.from({ length: jobs }, next));
    await writer.finish();
  }
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ tableBytes, maxRssMB: process.resourceUsage().maxRSS / 1024, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));

}
function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}`))));
  });
}
