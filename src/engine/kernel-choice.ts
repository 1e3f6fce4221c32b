// Which row kernel a run uses (./row-kernel.ts), chosen once: the native one when it is built
// and not turned off (PGCLOAK_NATIVE=0, ./native.ts), else JavaScript's. Mask, unmask, the
// row workers, inspect and the leak scan all take the one this gives.

import { JS_ROW_KERNEL } from './js-row-kernel.js';
import { nativeRows, type NativeRows } from './native.js';
import { NativeRowKernel } from './native-row-kernel.js';
import type { RowKernel } from './row-kernel.js';

let chosen: RowKernel | undefined;

/** The row kernel of this process. */
export function rowKernel(): RowKernel {
  return (chosen ??= kernelOf(nativeRows() ?? null));
}

/** The row kernel over `native` (null: JavaScript's): for tests that compare the two. */
export function kernelOf(native: NativeRows | null): RowKernel {
  return native ? new NativeRowKernel(native) : JS_ROW_KERNEL;
}
