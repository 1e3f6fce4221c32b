// Where a custom archive is written: a regular file (seekable, so the writer can go back and
// fill in the TOC's data offsets as pg_dump's _CloseArchive does), or a pipe / any Writable
// (not seekable: offsets stay "not set"). Small writes (framing integers) are gathered into
// one buffer so the file or pipe sees large writes. A file can be written under a temporary
// name and renamed on finish(), so nothing half-written is ever there under the real name.

import { randomBytes } from 'node:crypto';
import { close, fstat, fsync, open, rename, unlink, write } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { PgcloakError } from '../errors.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);
const fstatAsync = promisify(fstat);
const fsyncAsync = promisify(fsync);
const renameAsync = promisify(rename);
const unlinkAsync = promisify(unlink);

export interface ArchiveOutput {
  /** Bytes can be rewritten at an earlier position (a regular file). */
  readonly seekable: boolean;
  /** Bytes written so far: the offset of the next byte. */
  readonly position: number;
  /** Appends `bytes`; the output may keep the Buffer until written, so it must not change afterwards. */
  write(bytes: Buffer): Promise<void>;
  /** Overwrites bytes at `position` (seekable outputs only). */
  writeAt(bytes: Buffer, position: number): Promise<void>;
  /** Flushes and closes (and gives a temporary file its name). */
  finish(): Promise<void>;
  /** Stops: closes, and removes a temporary file. */
  abort(): Promise<void>;
}

const GATHER_BYTES = 1024 * 1024;
/** Writes at least this large skip the gathering buffer. */
const DIRECT_BYTES = 64 * 1024;

/** Gathers small writes; the subclasses say how bytes reach their destination. */
abstract class GatheringOutput implements ArchiveOutput {
  abstract readonly seekable: boolean;
  private written = 0;
  private gather = Buffer.allocUnsafe(GATHER_BYTES);
  private gathered = 0;

  get position(): number {
    return this.written + this.gathered;
  }

  async write(bytes: Buffer): Promise<void> {
    if (bytes.length >= DIRECT_BYTES) {
      await this.flush();
      await this.emit(bytes);
      this.written += bytes.length;
      return;
    }
    if (this.gathered + bytes.length > this.gather.length) await this.flush();
    bytes.copy(this.gather, this.gathered);
    this.gathered += bytes.length;
  }

  async writeAt(bytes: Buffer, position: number): Promise<void> {
    if (!this.seekable) throw new Error('writeAt on an output that cannot seek');
    await this.flush();
    await this.emitAt(bytes, position);
  }

  protected async flush(): Promise<void> {
    if (this.gathered === 0) return;
    const out = this.gather.subarray(0, this.gathered);
    // The next bytes gather in a new buffer while this one is written.
    this.gather = Buffer.allocUnsafe(GATHER_BYTES);
    this.written += this.gathered;
    this.gathered = 0;
    await this.emit(out);
  }

  abstract finish(): Promise<void>;
  abstract abort(): Promise<void>;
  protected abstract emit(bytes: Buffer): Promise<void>;
  protected abstract emitAt(bytes: Buffer, position: number): Promise<void>;
}

/** A file descriptor: a file (seekable) or a pipe such as standard output (not). */
export class FdOutput extends GatheringOutput {
  readonly seekable: boolean;
  private offset = 0;
  private closed = false;

  /**
   * `seekable`: fstat says regular file. `ownsFd`: close it on finish. `rename`: give the file at
   * `[temporary, final]` its final name on finish, remove it on abort.
   */
  constructor(
    private readonly fd: number,
    seekable: boolean,
    private readonly ownsFd: boolean,
    private readonly rename?: readonly [string, string],
  ) {
    super();
    this.seekable = seekable;
  }

  /**
   * An already open descriptor (standard output): seekable when it is an empty regular file not
   * opened for appending (`> out.dump`, as pg_dump's checkSeek finds it); with `>>` a rewrite
   * would land at the end, so such a file is written as a pipe is.
   */
  static async fromFd(fd: number): Promise<FdOutput> {
    const st = await fstatAsync(fd);
    return new FdOutput(fd, st.isFile() && st.size === 0 && !(await appending(fd)), false);
  }

  /** A new file at `path`, written under a temporary name beside it and renamed by finish(). */
  static async create(path: string): Promise<FdOutput> {
    const temporary = join(dirname(path), `.${basename(path)}.pgcloak-${randomBytes(4).toString('hex')}`);
    let fd: number;
    try {
      fd = await openAsync(temporary, 'wx', 0o600);
    } catch (err) {
      throw ioError(`cannot create ${temporary}`, err);
    }
    return new FdOutput(fd, true, true, [temporary, path]);
  }

  protected async emit(bytes: Buffer): Promise<void> {
    // A file is written at explicit positions (pwrite): a rewritten TOC never moves the append point.
    const at = this.seekable ? this.offset : null;
    await writeAll(this.fd, bytes, at);
    this.offset += bytes.length;
  }

  protected async emitAt(bytes: Buffer, position: number): Promise<void> {
    await writeAll(this.fd, bytes, position);
  }

  async finish(): Promise<void> {
    await this.flush();
    if (this.rename) await fsyncAsync(this.fd);
    await this.closeFd();
    if (this.rename) await renameAsync(this.rename[0], this.rename[1]).catch((err) => Promise.reject(ioError(`cannot rename to ${this.rename![1]}`, err)));
  }

  async abort(): Promise<void> {
    await this.closeFd().catch(() => undefined);
    if (this.rename) await unlinkAsync(this.rename[0]).catch(() => undefined);
  }

  private async closeFd(): Promise<void> {
    if (this.closed || !this.ownsFd) return;
    this.closed = true;
    await closeAsync(this.fd);
  }
}

/** O_APPEND, from Linux's /proc/self/fdinfo; false where that cannot be read. */
async function appending(fd: number): Promise<boolean> {
  const O_APPEND = 0o2000;
  try {
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8');
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    return flags !== null && (Number.parseInt(flags[1]!, 8) & O_APPEND) !== 0;
  } catch {
    return false;
  }
}

async function writeAll(fd: number, bytes: Buffer, position: number | null): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const n = await new Promise<number>((resolve, reject) =>
      write(fd, bytes, done, bytes.length - done, position === null ? null : position + done, (err, written) => (err ? reject(ioError('cannot write the archive', err)) : resolve(written))),
    );
    done += n;
  }
}

/** Any Writable (a socket, a PassThrough in a test): never seekable. */
export class StreamOutput extends GatheringOutput {
  readonly seekable = false;

  constructor(private readonly stream: Writable) {
    super();
  }

  protected async emit(bytes: Buffer): Promise<void> {
    if (!this.stream.write(bytes)) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          this.stream.off('drain', onDrain);
          this.stream.off('error', done);
          if (err) reject(ioError('cannot write the archive', err));
          else resolve();
        };
        const onDrain = (): void => done();
        this.stream.once('drain', onDrain);
        this.stream.once('error', done);
      });
    }
  }

  protected emitAt(): Promise<void> {
    return Promise.reject(new Error('a stream cannot seek'));
  }

  async finish(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }

  async abort(): Promise<void> {
    this.stream.destroy();
  }
}

function ioError(what: string, err: unknown): PgcloakError {
  const e = err as NodeJS.ErrnoException;
  return new PgcloakError('IO', `${what} (${e.code ?? 'error'}: ${e.message})`);
}
