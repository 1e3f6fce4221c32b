// Just enough reading of a plain pg_dump for the tests' own checks: where the COPY
// data lines are. A COPY header counts only under pg_dump's "Data for Name" comment,
// because the tricky schema puts look-alike lines inside a comment string and a
// function body (the masker has to tell them apart properly; the tests only need to
// for pg_dump's own layout).

export interface CopyBlock {
  /** The table as the COPY statement names it, usable in SQL. */
  table: string;
  /** 0-based index of the COPY header line. */
  header: number;
  /** 0-based indexes of the data lines (the `\.` terminator excluded). */
  first: number;
  end: number;
}

export function copyBlocks(lines: readonly string[]): CopyBlock[] {
  const blocks: CopyBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.startsWith('COPY ') || !line.endsWith(' FROM stdin;')) continue;
    if (!lines[i - 3]?.startsWith('-- Data for Name: ')) continue;
    // pg_dump always lists the columns; no table in the test data has ' (' in its name.
    const table = line.slice('COPY '.length, line.indexOf(' ('));
    let end = i + 1;
    while (end < lines.length && lines[end] !== '\\.') end++;
    blocks.push({ table, header: i, first: i + 1, end });
    i = end;
  }
  return blocks;
}

/** Indexes of every COPY data line. */
export function copyDataLines(lines: readonly string[]): Set<number> {
  const data = new Set<number>();
  for (const block of copyBlocks(lines)) for (let i = block.first; i < block.end; i++) data.add(i);
  return data;
}
