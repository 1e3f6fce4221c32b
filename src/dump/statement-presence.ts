// Whether a plain SQL input holds any statement at all, or only blank space and comments.
// A pg_dump that fails before its first statement writes nothing, or a few comment lines
// at most, and `pg_dump db | pgcloak mask` would then "mask" an empty dump with exit 0
// (issue 18). Fed chunk by chunk; stops looking at the first byte of a statement, which in
// a real dump comes within its first few hundred bytes.
// Comments as PostgreSQL reads them: `--` to the end of the line, `/* */` nested.
// https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-COMMENTS

import { BYTE } from '../io/byte-codes.js';

const { NL, CR } = BYTE;

const DASH = 0x2d;
const SLASH = 0x2f;
const STAR = 0x2a;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d || b === 0x0c || b === 0x0b;
}

const enum State {
  Blank,
  /** One `-`: a comment if another follows. */
  Dash,
  LineComment,
  /** One `/`: a comment if `*` follows. */
  Slash,
  Block,
  /** `*` inside a block comment: `/` ends one level. */
  BlockStar,
  /** `/` inside a block comment: `*` opens another level. */
  BlockSlash,
}

export class StatementPresence {
  private state = State.Blank;
  private depth = 0;
  private found = false;

  write(chunk: Uint8Array): void {
    if (this.found) return;
    let state = this.state;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (state) {
        case State.Blank:
          if (b === DASH) state = State.Dash;
          else if (b === SLASH) state = State.Slash;
          else if (!isSpace(b)) return this.statement();
          break;
        case State.Dash:
          if (b !== DASH) return this.statement();
          state = State.LineComment;
          break;
        case State.LineComment:
          if (b === NL || b === CR) state = State.Blank;
          break;
        case State.Slash:
          if (b !== STAR) return this.statement();
          this.depth = 1;
          state = State.Block;
          break;
        case State.Block:
          if (b === STAR) state = State.BlockStar;
          else if (b === SLASH) state = State.BlockSlash;
          break;
        case State.BlockStar:
          if (b === SLASH) {
            this.depth--;
            state = this.depth === 0 ? State.Blank : State.Block;
          } else if (b !== STAR) state = State.Block;
          break;
        case State.BlockSlash:
          if (b === STAR) {
            this.depth++;
            state = State.Block;
          } else if (b !== SLASH) state = State.Block;
          break;
      }
    }
    this.state = state;
  }

  /** True once a byte outside blank space and comments was seen (a lone `-` or `/` at the end counts). */
  get sawStatement(): boolean {
    return this.found || this.state === State.Dash || this.state === State.Slash;
  }

  private statement(): void {
    this.found = true;
  }
}
