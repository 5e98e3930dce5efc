/** One CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(value: string | number | boolean): string {
  if (typeof value === 'number') return Number.isNaN(value) ? '' : String(value);
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A whole CSV document: a header line and one line per row, each ending in a newline. */
export function toCsv(header: readonly string[], rows: Iterable<readonly (string | number | boolean)[]>): string {
  return [...csvChunks(header, rows)].join('');
}

/** Lines per chunk of csvChunks: a million cells' table is written without ever being one string. */
const CSV_CHUNK_LINES = 10_000;

/** toCsv's document a chunk of lines at a time (header first), for a table too large for one string. */
export function* csvChunks(header: readonly string[], rows: Iterable<readonly (string | number | boolean)[]>): Generator<string> {
  let lines = [header.map(csvField).join(',')];
  for (const row of rows) {
    lines.push(row.map(csvField).join(','));
    if (lines.length === CSV_CHUNK_LINES) {
      yield `${lines.join('\n')}\n`;
      lines = [];
    }
  }
  if (lines.length > 0) yield `${lines.join('\n')}\n`;
}

/** Parses a CSV document (RFC 4180: quoted fields may hold commas, quotes and line breaks) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** A CSV document as objects keyed by its header. */
export function parseCsvRecords(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return header ? rows.map((row) => Object.fromEntries(header.map((name, j) => [name, row[j] ?? '']))) : [];
}
