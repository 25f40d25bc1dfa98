// What the upload form shows when the API refuses a file: the API answers 400 with one message naming the
// first bad row ("row 3 (line 4) has 2 fields; the header has 3"). The file is read here too, so every row
// with the same fault is listed, each beside its own error, and the user fixes the file in one pass.

import { ApiError } from '../../api/client';

export interface RowReport {
  /** 1-based data row (the header is not counted), as the API numbers rows. */
  row: number;
  cells: string[];
  errors: string[];
}

export interface UploadReport {
  /** The API's message, as it said it. */
  message: string;
  /** The row the API named, when it named one. */
  namedRow: number | null;
  header: string[];
  rows: RowReport[];
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. Blank lines are skipped. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let touched = false;
  const source = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (quoted) {
      if (char === '"' && source[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
      continue;
    }
    if (char === '"') {
      quoted = true;
      touched = true;
    } else if (char === ',') {
      record.push(field);
      field = '';
      touched = true;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && source[i + 1] === '\n') i++;
      if (touched || field) {
        record.push(field);
        records.push(record);
      }
      record = [];
      field = '';
      touched = false;
    } else {
      field += char;
      touched = true;
    }
  }
  if (touched || field) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** The row number the API's message names ("row 3 ..."), if any. */
export function namedRow(message: string): number | null {
  const match = /\brow (\d+)\b/.exec(message);
  return match ? Number(match[1]) : null;
}

function jsonRows(text: string): { header: string[]; rows: RowReport[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { header: [], rows: [] };
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'testcases' in parsed) {
    parsed = (parsed as { testcases: unknown }).testcases;
  }
  if (!Array.isArray(parsed)) return { header: [], rows: [] };
  const header = [
    ...new Set(parsed.flatMap((item) => (item && typeof item === 'object' && !Array.isArray(item) ? Object.keys(item) : []))),
  ];
  const rows = parsed.map((item, index) => {
    const isObject = item !== null && typeof item === 'object' && !Array.isArray(item);
    return {
      row: index + 1,
      cells: isObject ? header.map((key) => cellText((item as Record<string, unknown>)[key])) : [cellText(item)],
      errors: isObject ? [] : [`row ${index + 1} is not an object`],
    };
  });
  return { header, rows };
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function csvRows(text: string): { header: string[]; rows: RowReport[] } {
  const [header = [], ...records] = parseCsv(text);
  const rows = records.map((cells, index) => ({
    row: index + 1,
    cells,
    errors:
      cells.length === header.length
        ? []
        : [`row ${index + 1} has ${cells.length} fields; the header has ${header.length}`],
  }));
  return { header, rows };
}

/** The report of a refused upload: the file's rows, each with its errors (the API's own on the row it named). */
export function uploadReport(error: unknown, fileText: string, fileType: 'csv' | 'json'): UploadReport {
  const message = error instanceof Error ? error.message : String(error);
  const row = error instanceof ApiError && error.status === 400 ? namedRow(message) : null;
  const { header, rows } = fileType === 'csv' ? csvRows(fileText) : jsonRows(fileText);
  for (const report of rows) {
    // The API's message is the authority on the row it names; it replaces this file's guess for that row.
    if (report.row === row) report.errors = [message];
  }
  return { message, namedRow: row, header, rows };
}

export function fileTypeOf(name: string): 'csv' | 'json' {
  return name.toLowerCase().endsWith('.json') ? 'json' : 'csv';
}
