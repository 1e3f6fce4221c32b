#!/usr/bin/env node
// How fast pg_dump itself writes a plain dump on this machine: the rate pgcloak must beat
// (issue 5: masking must never be what a `pg_dump | pgcloak` pipe waits on). Restores a
// generated dump into a throwaway cluster (bench/pg-cluster.js), then times pg_dump of it
// to /dev/null, a few times, and prints MB/s of its output.
//   node bench/pg-dump-rate.js [--size 256MiB] [--runs 3]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster } from './pg-cluster.js';
import { option } from './options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const size = option('size', '256MiB');
const runs = Number(option('runs', '3'));
const dump = join(root, 'bench', 'data', `erp-${size}.sql`);
if (!existsSync(dump)) execFileSync(process.execPath, [join(root, 'bench', 'generate.js'), '--size', size, '--output', dump], { stdio: 'inherit' });

const pg = await startCluster();
try {
  pg.psql('postgres', 'CREATE DATABASE erp;');
  execFileSync(join(pg.bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...pg.args('erp'), '-f', dump], { stdio: ['ignore', 'ignore', 'inherit'] });
  pg.psql('erp', 'VACUUM ANALYZE; CHECKPOINT;');
  const rates = [];
  for (let i = 0; i < runs; i++) {
    const out = openSync('/dev/null', 'w');
    let bytes = 0;
    const start = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      const child = spawn(join(pg.bin, 'pg_dump'), [...pg.args('erp')], { stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout.on('data', (d) => (bytes += d.length));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pg_dump exit ${code}`))));
    });
    closeSync(out);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(bytes / 1e6 / seconds);
    console.log(`pg_dump run ${i + 1}: ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(2)} s = ${(bytes / 1e6 / seconds).toFixed(0)} MB/s`);
  }
  rates.sort((a, b) => a - b);
  console.log(`pg_dump output rate (median of ${runs}): ${rates[Math.floor(runs / 2)].toFixed(0)} MB/s`);
} finally {
  pg.stop();
}
