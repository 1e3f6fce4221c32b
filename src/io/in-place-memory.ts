// Memory for one long row (a document of hundreds of MB in a field): a resizable
// ArrayBuffer that grows in place as the row arrives, with no copy and no garbage, and is
// freed (shrunk to nothing) as soon as nothing needs it, where a Buffer waits for the garbage
// collector: with rows of hundreds of MB one after another, each would still be held while
// the next is gathered (issue 18).
//
// Views of it may go out (the output of a long value no rule masks): each is lent with a
// release (ByteSink pushes it so; downstream releases it once written, or copied), and the
// memory is freed once its owner gives it back and every view is home.
// https://developer.mozilla.org/docs/Web/JavaScript/Reference/Global_Objects/ArrayBuffer/resize

export interface ResizableArrayBuffer extends ArrayBuffer {
  readonly resizable?: boolean;
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}

/** Memory of up to `maxByteLength` bytes, committed as it grows; undefined where the engine has none or cannot reserve the room. */
export function inPlaceMemory(maxByteLength: number): ResizableArrayBuffer | undefined {
  try {
    const memory = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ResizableArrayBuffer)(0, { maxByteLength });
    return memory.resizable === true ? memory : undefined;
  } catch {
    return undefined;
  }
}

interface Loan {
  /** Views out, not released yet. */
  out: number;
  /** Its owner is done with it: freed when `out` is 0. */
  givenBack: boolean;
}

/** Memory whose views are lent (by its owner's choice, see lendable). */
const loans = new WeakMap<ArrayBufferLike, Loan>();

/**
 * The owner of `memory` will give it back (giveBack) and keeps no view of it past that, but
 * those it lends: it is then freed at once.
 */
export function lendable(memory: ResizableArrayBuffer): void {
  loans.set(memory, { out: 0, givenBack: false });
}

/** For a view of lendable memory going out: its release; undefined for any other memory. */
export function lendView(memory: ArrayBufferLike): (() => void) | undefined {
  const loan = loans.get(memory);
  if (!loan) return undefined;
  loan.out++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--loan.out === 0 && loan.givenBack) free(memory);
  };
}

/** The owner is done with `memory`: freed now, or when its last view out is released. */
export function giveBack(memory: ArrayBufferLike): void {
  const loan = loans.get(memory);
  if (!loan) return;
  loan.givenBack = true;
  if (loan.out === 0) free(memory);
}

function free(memory: ArrayBufferLike): void {
  loans.delete(memory);
  (memory as ResizableArrayBuffer).resize(0);
}
