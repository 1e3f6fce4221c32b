// The ASCII bytes the parsers and writers look for, named once. A file takes the ones it
// needs into constants of its own (`const { TAB, NL } = BYTE;`): V8 folds a module's own
// constants into its hot loops, where it reads an imported binding through a cell.

export const BYTE: Readonly<Record<'TAB' | 'NL' | 'CR' | 'SPACE' | 'QUOTE' | 'COMMA' | 'BACKSLASH', number>> = Object.freeze({
  TAB: 0x09, // \t
  NL: 0x0a, // \n, line feed
  CR: 0x0d, // \r
  SPACE: 0x20,
  QUOTE: 0x22, // "
  COMMA: 0x2c,
  BACKSLASH: 0x5c, // \
});
