#!/usr/bin/env node
// Reversing N masked rows inside a local PostgreSQL (issue 4: "minutes, not hours").
//   node bench/restore-db.js                 (1,000,000 rows)
//   node bench/restore-db.js --rows 10000000 (the figure)
// Starts a throwaway cluster (bench/pg-cluster.js), generates a dump of one partner table
// with N rows, masks it, restores the masked dump with psql (the baseline: what loading
// those rows costs PostgreSQL anyway), then times `pgcloak unmask --db` on it, and `--sql`
// written and applied with psql on a second copy. Checks counts before and after timing.
// Prints rows/s, and pgcloak's CPU time and peak RSS.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster } from './pg-cluster.js';
import { flag, option } from './options.js';
import { random } from './random.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(option('rows', '1000000'));
const work = join(root, 'bench', 'data', 'restore');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const dump = join(work, 'dump.sql');
const masked = join(work, 'masked.sql');
const vault = join(work, 'v');
const key = join(work, 'k');
const rules = join(work, 'rules.yaml');

// Deterministic: the same arguments give the same file.
const { rand, pick } = random(0x2545f491);
const FIRST = ['Alice', 'Bob', 'Chloé', 'Dmitri', 'Eva', 'François', 'Günter', 'Hélène', 'Ivan', 'Zoë'];
const LAST = ['Martin', 'Dupont', "O'Brien", 'Müller', 'García', 'Rossi', 'Nakamura', 'van der Berg'];
const STREETS = ['Rue de la Paix', 'Hauptstraße', 'Main Street', 'Calle Mayor', 'Via Roma'];

function generate() {
  const fd = openSync(dump, 'w');
  writeSync(
    fd,
    `SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n
CREATE TABLE public.res_partner (
    id integer NOT NULL PRIMARY KEY,
    name character varying(128) NOT NULL,
    email character varying(240),
    phone character varying(64),
    street text,
    credit numeric(12,2),
    active boolean
);\n\nCOPY public.res_partner (id, name, email, phone, street, credit, active) FROM stdin;\n`,
  );
  let buf = '';
  for (let i = 1; i <= N; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const email = rand() < 0.1 ? '\\N' : `${first.toLowerCase()}.${i}@example.com`;
    buf += `${i}\t${first} ${last}\t${email}\t+33 1 ${String(i).padStart(8, '0')}\t${Math.floor(rand() * 200)} ${pick(STREETS)}\t${(rand() * 10000).toFixed(2)}\t${rand() < 0.9 ? 't' : 'f'}\n`;
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, `${buf}\\.\n`);
  closeSync(fd);
}

function pgcloak(argv) {
  // In process, for CPU time and peak RSS (bench/in-process.js reports them on fd 3).
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bench', 'in-process.js'), 'pgcloak', ...argv], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
    let report = '';
    child.stdio[3].on('data', (d) => (report += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stats = report === '' ? { code } : JSON.parse(report);
      if (stats.code !== 0) reject(new Error(`pgcloak ${argv.join(' ')}: exit ${stats.code}`));
      else resolve({ cpu: (stats.userUs + stats.systemUs) / 1e6, rss: stats.maxRssKiB / 1024 });
    });
  });
}

const time = async (fn) => {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, ...result };
};

generate();
writeFileSyncText(rules, 'tables:\n  res_partner:\n    columns: {name: placeholder, email: placeholder, phone: placeholder, street: placeholder, credit: placeholder}\n');
execFileSync(process.execPath, [join(root, 'bin', 'pgcloak.js'), 'keygen', '--output', key, '--quiet']);
execFileSync(process.execPath, [join(root, 'bin', 'pgcloak.js'), 'mask', '--rules', rules, '--vault', vault, '--key-file', key, '--input', dump, '--output', masked, '--quiet']);

const pg = await startCluster();
try {
  const psqlFile = (db, file) => execFileSync(join(pg.bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...pg.args(db), '-f', file], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PGTZ: 'UTC' } });
  const value = (db, sql) => pg.psql(db, `\\pset tuples_only on\n\\pset format unaligned\n${sql}`).trim();
  pg.psql('postgres', 'CREATE DATABASE masked; CREATE DATABASE masked_sql;');
  const restore = await time(async () => {
    psqlFile('masked', masked);
    return {};
  });
  pg.psql('masked', 'VACUUM ANALYZE public.res_partner; CHECKPOINT;');
  psqlFile('masked_sql', masked);
  pg.psql('masked_sql', 'VACUUM ANALYZE public.res_partner; CHECKPOINT;');
  const placeholders = Number(value('masked', `SELECT count(*) FROM public.res_partner WHERE name = 'xxx' || id`));
  if (placeholders !== N) throw new Error(`expected ${N} masked rows, found ${placeholders}`);

  const db = await time(() => pgcloak(['unmask', '--vault', vault, '--key-file', key, '--db', pg.url('masked'), '--quiet']));
  const left = Number(value('masked', `SELECT count(*) FROM public.res_partner WHERE name = 'xxx' || id OR phone = 'xxx' || id`));
  const sample = value('masked', `SELECT name || '|' || coalesce(email, '') FROM public.res_partner WHERE id = ${Math.ceil(N / 2)}`);
  if (left !== 0) throw new Error(`${left} rows still masked after unmask --db`);

  const script = join(work, 'restore.sql');
  const sqlWrite = await time(() => pgcloak(['unmask', '--vault', vault, '--key-file', key, '--sql', '--output', script, '--quiet']));
  const sqlApply = await time(async () => {
    psqlFile('masked_sql', script);
    return {};
  });
  const left2 = Number(value('masked_sql', `SELECT count(*) FROM public.res_partner WHERE name = 'xxx' || id OR phone = 'xxx' || id`));
  if (left2 !== 0) throw new Error(`${left2} rows still masked after the --sql script`);

  const mb = (f) => (statSync(f).size / 1e6).toFixed(0);
  console.log(`pgcloak restore bench: ${N} rows (dump ${mb(dump)} MB, vault ${mb(vault)} MB, script ${mb(script)} MB); node ${process.version}, ${cpus().length} CPUs, ${cpus()[0]?.model ?? ''}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${execFileSync(join(pg.bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim()}`);
  console.log(`row ${Math.ceil(N / 2)} after --db: ${sample}`);
  const rate = (s) => `${(N / s / 1e3).toFixed(0)} k`;
  console.log(
    [
      '| case | seconds | rows/s | pgcloak CPU s | pgcloak peak RSS MB |',
      '|---|---:|---:|---:|---:|',
      `| baseline: psql restores the masked dump (COPY ${N} rows, builds the primary key) | ${restore.seconds.toFixed(1)} | ${rate(restore.seconds)} | – | – |`,
      `| unmask --db (vault read twice, COPY to temp, match, one UPDATE) | ${db.seconds.toFixed(1)} | ${rate(db.seconds)} | ${db.cpu.toFixed(1)} | ${db.rss.toFixed(0)} |`,
      `| unmask --sql (writing the script) | ${sqlWrite.seconds.toFixed(1)} | ${rate(sqlWrite.seconds)} | ${sqlWrite.cpu.toFixed(1)} | ${sqlWrite.rss.toFixed(0)} |`,
      `| psql -f the script | ${sqlApply.seconds.toFixed(1)} | ${rate(sqlApply.seconds)} | – | – |`,
    ].join('\n'),
  );
} finally {
  pg.stop();
  if (!flag('keep')) rmSync(work, { recursive: true, force: true });
}

function writeFileSyncText(file, text) {
  const fd = openSync(file, 'w');
  writeSync(fd, text);
  closeSync(fd);
}
