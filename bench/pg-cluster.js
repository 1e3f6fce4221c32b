// A throwaway PostgreSQL cluster for benchmarks, like test/integration/global-setup.ts:
// initdb in a temp dir, the server on a free port, Unix socket only, as the `postgres` OS
// user when run as root; stopped and removed by stop(). Durability is off: it measures
// pgcloak and PostgreSQL's work, not fsync.
//   node bench/pg-cluster.js        (starts one, prints its URL, waits; Ctrl-C stops it)
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = process.env.PGCLOAK_PG_BIN ?? '/usr/lib/postgresql/15/bin';

function serverEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  env.LC_ALL = 'C';
  return env;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startCluster(options = {}) {
  if (!existsSync(path.join(BIN, 'initdb'))) throw new Error(`no PostgreSQL binaries in ${BIN} (set PGCLOAK_PG_BIN)`);
  const asRoot = process.getuid?.() === 0;
  const run = (file, args) => {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(BIN, file), ...args]] : [path.join(BIN, file), args];
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv() });
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-bench-pg-'));
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  mkdirSync(sock);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chownSync(sock, uid, gid);
  }
  let started = false;
  const stop = () => {
    if (started) {
      started = false;
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } catch (err) {
        process.stderr.write(`pg_ctl stop failed: ${err.message}\n`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
    const port = await freePort();
    const settings = [
      `-p ${port}`,
      `-k ${sock}`,
      "-c listen_addresses=''",
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      `-c shared_buffers=${options.sharedBuffers ?? '512MB'}`,
      '-c max_wal_size=8GB',
    ].join(' ');
    run('pg_ctl', ['-D', data, '-o', settings, '-w', '-t', '60', '-l', path.join(dir, 'log'), 'start']);
    started = true;
    const psql = (db, sql) =>
      execFileSync(path.join(BIN, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', sock, '-p', String(port), '-U', 'postgres', '-d', db], {
        input: sql,
        encoding: 'utf8',
        env: { ...serverEnv(), PGTZ: 'UTC' },
        maxBuffer: 1 << 30,
      });
    return {
      bin: BIN,
      host: sock,
      port,
      dir,
      url: (db) => `postgresql://postgres@/${encodeURIComponent(db)}?host=${encodeURIComponent(sock)}&port=${port}`,
      args: (db) => ['-h', sock, '-p', String(port), '-U', 'postgres', '-d', db],
      psql,
      stop: () => {
        process.removeListener('exit', stop);
        stop();
      },
    };
  } catch (err) {
    stop();
    throw err;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const pg = await startCluster();
  console.log(pg.url('postgres'));
  console.log(`psql ${pg.args('postgres').join(' ')}`);
  process.on('SIGINT', () => {
    pg.stop();
    process.exit(0);
  });
  setInterval(() => undefined, 1 << 30);
}
