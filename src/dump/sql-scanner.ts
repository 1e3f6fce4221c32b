// The plain-format dump scanner: a byte state machine that finds statement
// boundaries the way psql does (quotes, dollar quotes, nested comments, parentheses,
// backslash meta-commands) and switches to COPY data mode after `COPY ... FROM stdin;`.
// https://www.postgresql.org/docs/current/sql-syntax-lexical.html
// https://www.postgresql.org/docs/current/app-psql.html (meta-commands, COPY data)
//
// It never changes a byte itself. What lies between statements (white space, comments,
// psql meta-commands) goes to `emit` verbatim as it streams. Each statement is collected
// up to its `;` and handed whole to `statement`, which writes it (as it is, or rewritten:
// INSERT rows of masked tables). COPY data goes to `emit` too, except the rows of tables
// the handler asked to see row by row, which go to `row` and are the handler's to write.

import { PgcloakError, type SourcePosition } from '../errors.js';
import { ByteGather } from '../io/byte-gather.js';
import { BYTE } from '../io/byte-codes.js';

const { TAB, NL, CR, SPACE, BACKSLASH } = BYTE;

const DOT = 0x2e;
const SQUOTE = 0x27; // '
const DQUOTE = 0x22; // "
const DOLLAR = 0x24; // $
const DASH = 0x2d; // -
const SLASH = 0x2f; // /
const STAR = 0x2a; // *
const SEMICOLON = 0x3b;
const LPAREN = 0x28;
const RPAREN = 0x29;

/** The longest `\.` line, `\.\r\n`: a carried line of this many bytes is a row. */
const TERMINATOR_MAX = 4;

/** 'batch' mode hands rows over in runs of about this many bytes (a row is never split). */
const BATCH_BYTES = 256 * 1024;

/** The longest statement held in memory (a multi-row INSERT of a hand-written script is the largest). */
const MAX_STATEMENT = 256 * 1024 * 1024;

export type CopyDataMode = 'passthrough' | 'rows' | 'batch';

/**
 * Takes whole statements from the one starting at `buf[start]` (the handler writes them
 * itself), if it can: where they end (after a `;`) and how many line ends they hold;
 * undefined when it took none. A handler returns one for the statements after the one it was
 * given (INSERT statements with the same header, walked natively).
 */
export type StatementWalk = (buf: Buffer, start: number, end: number, at: SourcePosition) => { end: number; lines: number } | undefined;

/** What follows a statement: COPY data, handled so; statements the handler's walk may take; or nothing special. */
export type AfterStatement = CopyDataMode | StatementWalk | undefined;

/**
 * Counts whole lines of COPY data at once (the native kernel's, when it is built: the engine
 * gives it, ../engine/native.ts): from `buf[start]`, lines of at most `limit` bytes in all, up
 * to one that could be the `\.` end marker or that runs past `end`. `counted.lines` is how
 * many, `counted.end` where the last one ends.
 */
export interface CopyLineCounter {
  countLines(buf: Buffer, start: number, end: number, limit: number, counted: { lines: number; end: number }): void;
}

export interface ScannerHandler {
  /** Verbatim bytes: `buf[start..end)`. The buffer is the caller's chunk; do not mutate it. */
  emit(buf: Buffer, start: number, end: number): void;
  /**
   * A statement, from its first byte up to and including its `;`. The handler writes
   * it. Returns how the COPY data that follows must be handled, if any, or a walk to offer
   * the statements that follow.
   */
  statement(text: Buffer, at: SourcePosition): AfterStatement;
  /**
   * One COPY data row in 'rows' mode: `buf[start..end)` is the row without its line
   * end, `buf[end..eolEnd)` the line end (`\n` or `\r\n`). The handler writes both.
   */
  row(buf: Buffer, start: number, end: number, eolEnd: number, at: SourcePosition): void;
  /**
   * 'batch' mode: `count` whole rows, each with its line end (the last one may lack it at
   * the end of raw COPY data), `buf[start..end)`; the first starts at `at`. The handler writes them.
   */
  rows?(buf: Buffer, start: number, end: number, at: SourcePosition, count: number): void;
  /** The `\.` line of a COPY block has been emitted. */
  copyEnd(rows: number): void;
}

const enum State {
  Normal,
  LineComment,
  BlockComment,
  SingleQuote,
  DoubleQuote,
  DollarTagOpen,
  Dollar,
  DollarTagClose,
  MetaCommand,
  AfterCopy,
  CopyData,
}

/**
 * 1 for the bytes that change nothing in SQL text inside a statement but prev1/prev2: not a
 * line end, quote, dollar, parenthesis, semicolon, backslash or the start of a comment.
 */
const ORDINARY_IN_STATEMENT = (() => {
  const table = new Uint8Array(256).fill(1);
  for (const b of [NL, SQUOTE, DQUOTE, DOLLAR, DASH, SLASH, STAR, SEMICOLON, LPAREN, RPAREN, BACKSLASH]) table[b] = 0;
  return table;
})();

/** A byte that continues an identifier or keyword (any byte of a multi-byte character too). */
export function isIdentByte(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x5f || // _
    b === DOLLAR ||
    b >= 0x80 // any byte of a multi-byte UTF-8 character
  );
}

function isSpace(b: number): boolean {
  return b === SPACE || b === NL || b === TAB || b === CR || b === 0x0c || b === 0x0b;
}

export class SqlScanner {
  private readonly handler: ScannerHandler;
  private state = State.Normal;

  // Position of the current chunk's first byte in the stream.
  private chunkOffset = 0;
  private line = 1;

  // Statement tracking (Normal state and the quote states inside a statement).
  private inStatement = false;
  private stmtStart: SourcePosition = { line: 1, offset: 0 };
  private parenDepth = 0;
  /** The statement's bytes in earlier chunks. */
  private readonly kept: ByteGather;

  // Lexer details.
  private prev1 = NL; // the byte before the current one
  private prev2 = NL; // the one before that
  private backslashEscapes = false; // inside an E'' string, or standard_conforming_strings off
  private standardConformingStrings = true;
  private pendingBackslash = false; // inside a quote: the previous byte was an escaping backslash
  private commentDepth = 0;
  private starPending = false;
  private slashPending = false;
  private dashPending = false;
  private dollarTag: number[] = [];
  private dollarMatch = 0;

  // COPY data.
  private copyMode: CopyDataMode = 'passthrough';
  /** Counts COPY data lines many at a time, if given (else they are found one by one). */
  private readonly lineCounter: CopyLineCounter | undefined;
  /** 'batch' mode hands over runs of whole rows of about this many bytes. */
  batchBytes = BATCH_BYTES;
  private readonly counted = { lines: 0, end: 0 };
  private copyRows = 0;
  private copyAt: SourcePosition = { line: 1, offset: 0 };
  private lineStart = true;
  /** A COPY line that continues in the next chunk: a row, or what may be the `\.` line. */
  private readonly carry: ByteGather;
  private rawCopy = false;

  /**
   * Bytes handed to the scanning loops so far, those read again after a join included: at
   * most about twice the input whatever its lines' lengths (a test counts them, issue 18).
   */
  bytesScanned = 0;

  /** The walk the handler returned with the last statement, offered the next statement only. */
  private walk: StatementWalk | undefined;

  /**
   * `handlerLends`: the handler keeps no view of a row or statement past its call but those it
   * lends (lendView, as ByteSink does): the memory of one gathered in place across chunks is
   * then freed as soon as it is handled and its views are written, not by the garbage
   * collector (long rows one after another would otherwise pile up, issue 18). `lineCounter`:
   * see CopyLineCounter.
   */
  constructor(handler: ScannerHandler, options: { handlerLends?: boolean; lineCounter?: CopyLineCounter | undefined } = {}) {
    this.handler = handler;
    this.lineCounter = options.lineCounter;
    const givesBack = options.handlerLends ?? false;
    this.kept = new ByteGather({ givesBack });
    this.carry = new ByteGather({ givesBack });
  }

  /**
   * COPY data given apart from its statement: the input continues inside COPY data. Raw COPY
   * data (the output of `COPY t TO STDOUT`) may end without a `\.` line (`endMarker`
   * 'optional': the end of the input ends it); data that ends with one (an archive's) goes
   * back to SQL after it.
   */
  startInCopyData(mode: CopyDataMode, endMarker: 'optional' | 'required' = 'optional'): void {
    this.state = State.CopyData;
    this.copyMode = mode;
    this.lineStart = true;
    this.copyRows = 0;
    this.copyAt = this.position;
    this.rawCopy = endMarker === 'optional';
  }

  /** `SET standard_conforming_strings = off` changes how `'...'` strings treat backslashes. */
  setStandardConformingStrings(on: boolean): void {
    this.standardConformingStrings = on;
  }

  /** The position of the next byte to be read. */
  get position(): SourcePosition {
    return { line: this.line, offset: this.chunkOffset };
  }

  /** Bytes held for a COPY row or a statement that has not ended yet. */
  get heldBytes(): number {
    return this.carry.length + this.kept.length;
  }

  write(input: Buffer): void {
    let from = 0;
    if (this.carry.length > 0) {
      // Only COPY data mode carries bytes: a row split across chunks, or the start of
      // a line that might be the `\.` terminator. Only that line is joined (the rest of
      // the chunk is read in place): the carried bytes and the chunk up to its first line end.
      const nl = input.indexOf(NL);
      from = nl === -1 ? input.length : nl + 1;
      this.bytesScanned += from;
      if (nl === -1 && this.carry.length >= TERMINATOR_MAX) {
        // Still inside a row too long to be the `\.` line: the chunk joins the carry, and the
        // row is joined and scanned once, when its line end comes. Joining and re-scanning
        // the carry with every chunk took time in the square of the row's length (issue 18).
        this.carry.append(input, 0, input.length);
        return;
      }
      const carried = this.carry.length;
      const joined = this.carry.take(input, 0, from);
      this.scanChunk(joined, 0);
      this.carry.giveBack(joined);
      if (this.carry.length > 0) return; // still no line end: all of input is carried
      // Back to offsets of `input`: its first byte follows the `carried` ones.
      this.chunkOffset -= joined.length - carried;
    }
    this.scanChunk(input, from);
  }

  /** Scans `chunk` from `pos` (this.chunkOffset is the offset of chunk[0]); carries an unfinished COPY line. */
  private scanChunk(chunk: Buffer, pos: number): void {
    this.bytesScanned += chunk.length - pos;
    while (pos < chunk.length) {
      if (this.state === State.CopyData) {
        pos = this.scanCopyData(chunk, pos, false);
        if (this.carry.length > 0) break;
      } else {
        pos = this.scanSql(chunk, pos);
      }
    }
    this.chunkOffset += chunk.length - this.carry.length;
  }

  end(): void {
    if (this.state === State.CopyData) {
      if (this.carry.length > 0) {
        const rest = this.carry.take();
        this.bytesScanned += rest.length;
        this.scanCopyData(rest, 0, true);
        this.carry.giveBack(rest);
        this.chunkOffset += rest.length;
      }
      if (this.state === State.CopyData && this.rawCopy) {
        this.state = State.Normal;
        this.handler.copyEnd(this.copyRows);
        return;
      }
      if (this.state === State.CopyData) {
        throw new PgcloakError('COPY_UNTERMINATED', 'input ends inside COPY data: no `\\.` line', {
          line: this.copyAt.line,
          offset: this.copyAt.offset,
        });
      }
    }
    switch (this.state) {
      case State.SingleQuote:
      case State.DoubleQuote:
      case State.Dollar:
      case State.DollarTagClose:
        throw new PgcloakError('SQL_UNTERMINATED', 'input ends inside a quoted string', this.stmtStart);
      case State.BlockComment:
        throw new PgcloakError('SQL_UNTERMINATED', 'input ends inside a /* comment */', this.position);
      default:
        break;
    }
    if (this.inStatement) {
      throw new PgcloakError('SQL_UNTERMINATED', 'input ends inside a statement (no closing `;`): truncated?', this.stmtStart);
    }
  }

  // ---- SQL mode -------------------------------------------------------------

  /** Scans SQL from `pos`; returns where it stopped (chunk end, or the start of COPY data). */
  private scanSql(buf: Buffer, pos: number): number {
    let emitFrom = pos; // bytes outside statements not yet emitted
    const len = buf.length;
    let keepFrom = this.inStatement ? pos : -1;
    while (pos < len) {
      const b = buf[pos]!;
      const at = pos;
      pos++;
      switch (this.state) {
        case State.Normal: {
          if (this.dashPending) {
            this.dashPending = false;
            if (b === DASH) {
              this.state = State.LineComment;
              break;
            }
          }
          if (this.slashPending) {
            this.slashPending = false;
            if (b === STAR) {
              this.state = State.BlockComment;
              this.commentDepth = 1;
              break;
            }
          }
          if (b === DASH || b === SLASH) {
            // Maybe a comment: decided by the next byte (which may be in the next chunk).
            if (b === DASH) this.dashPending = true;
            else this.slashPending = true;
            break;
          }
          if (isSpace(b)) break;
          if (b === BACKSLASH && !this.inStatement) {
            this.state = State.MetaCommand;
            break;
          }
          if (!this.inStatement) {
            if (at > emitFrom) this.handler.emit(buf, emitFrom, at);
            const taken = this.walk?.(buf, at, len, { line: this.line, offset: this.chunkOffset + at });
            if (taken) {
              // Whole statements, written by the handler: on after the last one's `;`.
              this.line += taken.lines;
              pos = emitFrom = taken.end;
              this.prev2 = buf[pos - 2]!;
              this.prev1 = SEMICOLON;
              continue;
            }
            this.startStatement(at);
            keepFrom = at;
          }
          if (b === SQUOTE) {
            // `''` inside a string is a doubled quote: the string keeps its escape mode.
            if (this.prev1 !== SQUOTE) {
              this.backslashEscapes =
                !this.standardConformingStrings ||
                ((this.prev1 === 0x45 || this.prev1 === 0x65) && !isIdentByte(this.prev2)); // E'' / e''
            }
            this.state = State.SingleQuote;
          } else if (b === DQUOTE) {
            this.state = State.DoubleQuote;
          } else if (b === DOLLAR && !isIdentByte(this.prev1)) {
            this.state = State.DollarTagOpen;
            this.dollarTag = [];
          } else if (b === LPAREN) {
            this.parenDepth++;
          } else if (b === RPAREN) {
            if (this.parenDepth > 0) this.parenDepth--;
          } else if (b === SEMICOLON && this.parenDepth === 0) {
            // A statement within one chunk is handed over as a view, without a copy.
            const whole = this.kept.length === 0 ? buf.subarray(keepFrom, pos) : undefined;
            if (!whole) this.keep(buf, keepFrom, pos);
            keepFrom = -1;
            emitFrom = pos;
            const after = this.endStatement(whole);
            if (typeof after === 'function') {
              this.walk = after;
            } else if (after !== undefined) {
              this.copyMode = after;
              this.copyAt = this.stmtStart;
              this.state = State.AfterCopy;
            }
          }
          break;
        }
        case State.LineComment:
          if (b === NL) this.state = State.Normal;
          break;
        case State.BlockComment:
          if (this.starPending && b === SLASH) {
            this.starPending = false;
            if (--this.commentDepth === 0) this.state = State.Normal;
            break;
          }
          if (this.slashPending && b === STAR) {
            this.slashPending = false;
            this.commentDepth++;
            break;
          }
          this.starPending = b === STAR;
          this.slashPending = b === SLASH;
          break;
        case State.SingleQuote:
          if (this.pendingBackslash) this.pendingBackslash = false;
          else if (b === BACKSLASH && this.backslashEscapes) this.pendingBackslash = true;
          else if (b === SQUOTE) this.state = State.Normal;
          else if (!this.backslashEscapes) {
            // Inside a standard string only a quote matters: jump to the next one (most of
            // an INSERT dump is string contents), counting the lines in between.
            let q = buf.indexOf(SQUOTE, pos);
            if (q === -1) q = len;
            for (let nl = b === NL ? at : buf.indexOf(NL, pos); nl !== -1 && nl < q; nl = buf.indexOf(NL, nl + 1)) this.line++;
            this.prev2 = q - 2 >= at ? buf[q - 2]! : this.prev1;
            this.prev1 = buf[q - 1]!;
            pos = q;
            continue;
          }
          break;
        case State.DoubleQuote:
          if (b === DQUOTE) this.state = State.Normal;
          break;
        case State.DollarTagOpen:
          if (b === DOLLAR) {
            this.state = State.Dollar;
          } else if (isIdentByte(b) && !(this.dollarTag.length === 0 && b >= 0x30 && b <= 0x39)) {
            this.dollarTag.push(b);
          } else {
            // `$1` or similar: not a dollar quote. Re-read this byte as ordinary SQL.
            this.state = State.Normal;
            pos = at;
            continue;
          }
          break;
        case State.Dollar:
          if (b === DOLLAR) {
            this.dollarMatch = 0;
            this.state = this.dollarTag.length === 0 ? State.Normal : State.DollarTagClose;
          }
          break;
        case State.DollarTagClose:
          if (this.dollarMatch < this.dollarTag.length && b === this.dollarTag[this.dollarMatch]) {
            this.dollarMatch++;
          } else if (this.dollarMatch === this.dollarTag.length && b === DOLLAR) {
            this.state = State.Normal;
          } else if (b === DOLLAR) {
            this.dollarMatch = 0; // this `$` may open the closing tag
          } else {
            this.state = State.Dollar;
          }
          break;
        case State.MetaCommand:
          // psql meta-commands (\connect, \restrict, \unrestrict, …) run to the end of the line.
          if (b === NL) this.state = State.Normal;
          break;
        case State.AfterCopy:
          if (b === NL) {
            this.line++;
            this.state = State.CopyData;
            this.lineStart = true;
            this.copyRows = 0;
            this.handler.emit(buf, emitFrom, pos);
            return pos;
          }
          if (b !== SPACE && b !== TAB && b !== CR) {
            throw new PgcloakError('COPY_UNSUPPORTED', 'text after `COPY ... FROM stdin;` on the same line', {
              line: this.line,
              offset: this.chunkOffset + at,
            });
          }
          break;
        default:
          break;
      }
      if (b === NL) this.line++;
      this.prev2 = this.prev1;
      this.prev1 = b;
      if (this.state === State.Normal && this.inStatement && !this.dashPending && !this.slashPending) {
        // Inside a statement, bytes that open nothing and end nothing (names, numbers,
        // commas, spaces) only move prev1/prev2 along: skip to the next one that may.
        let q = pos;
        while (q < len && ORDINARY_IN_STATEMENT[buf[q]!] === 1) q++;
        if (q > pos) {
          this.prev2 = q - pos >= 2 ? buf[q - 2]! : this.prev1;
          this.prev1 = buf[q - 1]!;
          pos = q;
        }
      }
    }
    if (this.inStatement) {
      if (keepFrom >= 0) this.keep(buf, keepFrom, pos);
    } else if (pos > emitFrom) {
      this.handler.emit(buf, emitFrom, pos);
    }
    return pos;
  }

  private startStatement(at: number): void {
    this.inStatement = true;
    this.stmtStart = { line: this.line, offset: this.chunkOffset + at };
    this.parenDepth = 0;
    this.kept.clear();
  }

  private keep(buf: Buffer, from: number, to: number): void {
    if (to <= from) return;
    if (this.kept.length + to - from > MAX_STATEMENT) {
      throw new PgcloakError('STATEMENT_TOO_LARGE', `a statement is over ${MAX_STATEMENT} bytes`, this.stmtStart);
    }
    // Copied: the chunk may be large and the statement small, and its memory is reused.
    this.kept.append(buf, from, to);
  }

  private endStatement(whole: Buffer | undefined): AfterStatement {
    this.inStatement = false;
    this.walk = undefined;
    if (whole) return this.handler.statement(whole, this.stmtStart);
    const text = this.kept.take();
    const mode = this.handler.statement(text, this.stmtStart);
    this.kept.giveBack(text);
    return mode;
  }

  // ---- COPY data mode -------------------------------------------------------

  /**
   * Scans COPY data rows from `pos`. Returns the position after the last byte
   * consumed; sets `carry` when a row (or a possible terminator) continues in the
   * next chunk. `atEnd` means no more input will come.
   */
  private scanCopyData(buf: Buffer, pos: number, atEnd: boolean): number {
    const len = buf.length;
    const rows = this.copyMode !== 'passthrough';
    const batch = this.copyMode === 'batch';
    let runStart = pos; // passthrough bytes not yet emitted
    // 'batch': whole rows not yet handed over, from batchStart (or none: -1).
    let batchStart = -1;
    let batchCount = 0;
    let batchAt: SourcePosition = this.copyAt;
    const flushBatch = (to: number): void => {
      if (batchStart === -1) return;
      this.handler.rows!(buf, batchStart, to, batchAt, batchCount);
      batchStart = -1;
      batchCount = 0;
      runStart = to;
    };
    const lines = batch || !rows ? this.lineCounter : undefined;
    while (pos < len) {
      if (lines && this.lineStart) {
        // Whole lines at once, natively: as many as the batch takes (all of them, passing
        // through), up to one that could be the end marker or runs past the chunk.
        const from = batchStart === -1 ? pos : batchStart;
        lines.countLines(buf, pos, len, batch ? this.batchBytes - (pos - from) : Infinity, this.counted);
        const n = this.counted.lines;
        if (n > 0) {
          if (batch && batchStart === -1) {
            this.flushRun(buf, runStart, pos);
            batchStart = pos;
            batchAt = { line: this.line, offset: this.chunkOffset + pos };
          }
          this.copyRows += n;
          this.line += n;
          pos = this.counted.end;
          if (batch) {
            batchCount += n;
            if (pos - batchStart >= this.batchBytes) flushBatch(pos);
          }
          continue;
        }
      }
      if (this.lineStart) {
        const t = terminatorLength(buf, pos, atEnd);
        if (t === -1) {
          // Too few bytes to tell whether this line is `\.`: wait for more.
          flushBatch(pos);
          this.flushRun(buf, runStart, pos);
          this.carryFrom(buf, pos);
          return len;
        }
        if (t > 0) {
          flushBatch(pos);
          pos += t;
          this.line++;
          this.handler.emit(buf, runStart, pos);
          this.state = State.Normal;
          this.prev1 = NL;
          this.prev2 = NL;
          this.handler.copyEnd(this.copyRows);
          return pos;
        }
      }
      const nl = buf.indexOf(NL, pos);
      if (nl === -1) {
        if (rows || atEnd) {
          flushBatch(pos);
          if (atEnd) {
            this.flushRun(buf, runStart, pos);
            if (this.rawCopy && pos < len) {
              // Raw COPY data may end without a line end after its last row.
              this.copyRows++;
              const at = { line: this.line, offset: this.chunkOffset + pos };
              if (batch) this.handler.rows!(buf, pos, len, at, 1);
              else if (rows) this.handler.row(buf, pos, len, len, at);
              else this.handler.emit(buf, pos, len);
            } else {
              // A last row without a line end, then EOF, in a dump: the error follows in end().
              this.flushRun(buf, pos, len);
            }
            return len;
          }
          this.flushRun(buf, runStart, pos);
          this.carryFrom(buf, pos);
          return len;
        }
        this.lineStart = false;
        pos = len;
        break;
      }
      this.copyRows++;
      if (batch) {
        if (batchStart === -1) {
          this.flushRun(buf, runStart, pos);
          batchStart = pos;
          batchAt = { line: this.line, offset: this.chunkOffset + pos };
        }
        batchCount++;
        if (nl + 1 - batchStart >= this.batchBytes) {
          this.line++;
          this.lineStart = true;
          pos = nl + 1;
          flushBatch(pos);
          continue;
        }
      } else if (rows && this.lineStart) {
        this.flushRun(buf, runStart, pos);
        const end = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
        this.handler.row(buf, pos, end, nl + 1, { line: this.line, offset: this.chunkOffset + pos });
        runStart = nl + 1;
      }
      this.line++;
      pos = nl + 1;
      this.lineStart = true;
    }
    flushBatch(pos);
    this.flushRun(buf, runStart, pos);
    return pos;
  }

  private flushRun(buf: Buffer, from: number, to: number): void {
    if (to > from) this.handler.emit(buf, from, to);
  }

  private carryFrom(buf: Buffer, pos: number): void {
    // Copied: the caller may reuse the chunk's memory before the line is completed.
    this.carry.append(buf, pos, buf.length);
  }
}

/**
 * At a line start: the length of the `\.` terminator line there (with its line end),
 * 0 if the line is not the terminator, -1 if the bytes run out before we can tell.
 */
function terminatorLength(buf: Buffer, pos: number, atEnd: boolean): number {
  const len = buf.length;
  if (buf[pos] !== BACKSLASH) return 0;
  if (pos + 1 >= len) return atEnd ? 0 : -1;
  if (buf[pos + 1] !== DOT) return 0;
  if (pos + 2 >= len) return atEnd ? 2 : -1;
  const c = buf[pos + 2];
  if (c === NL) return 3;
  if (c !== CR) return 0;
  if (pos + 3 >= len) return atEnd ? 3 : -1;
  return buf[pos + 3] === NL ? 4 : 0;
}
