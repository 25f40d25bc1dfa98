// A side-by-side line diff of two JSON values (a revision's `data`), for the registry's diff view.
import { diffLines } from 'diff';

export interface DiffLine {
  number: number;
  text: string;
}

/** One row of the side-by-side view: a line on either side (or both), and how it changed. */
export interface DiffRow {
  kind: 'same' | 'removed' | 'added' | 'changed';
  left?: DiffLine;
  right?: DiffLine;
}

/** JSON with keys sorted at every depth, so two revisions differ only where their values do. */
export function stableJson(value: unknown): string {
  const sorted = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(sorted);
    if (item && typeof item === 'object') {
      return Object.fromEntries(
        Object.keys(item as object)
          .sort()
          .map((key) => [key, sorted((item as Record<string, unknown>)[key])]),
      );
    }
    return item;
  };
  return JSON.stringify(sorted(value ?? null), null, 2);
}

const linesOf = (text: string) => text.replace(/\n$/, '').split('\n');

/** Rows pairing the lines of `before` and `after`: a removal next to an addition shows as one changed row. */
export function diffJson(before: unknown, after: unknown): DiffRow[] {
  const rows: DiffRow[] = [];
  let left = 1;
  let right = 1;
  const parts = diffLines(stableJson(before), stableJson(after));
  for (let index = 0; index < parts.length; index += 1) {
    const part = parts[index];
    const lines = linesOf(part.value);
    if (!part.added && !part.removed) {
      for (const text of lines) rows.push({ kind: 'same', left: { number: left++, text }, right: { number: right++, text } });
      continue;
    }
    if (part.removed && parts[index + 1]?.added) {
      const added = linesOf(parts[index + 1].value);
      for (let line = 0; line < Math.max(lines.length, added.length); line += 1) {
        rows.push({
          kind: 'changed',
          left: line < lines.length ? { number: left++, text: lines[line] } : undefined,
          right: line < added.length ? { number: right++, text: added[line] } : undefined,
        });
      }
      index += 1;
      continue;
    }
    for (const text of lines) {
      rows.push(part.removed ? { kind: 'removed', left: { number: left++, text } } : { kind: 'added', right: { number: right++, text } });
    }
  }
  return rows;
}
