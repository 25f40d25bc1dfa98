// The test case grid: the latest revision's cases as text cells, edited, then committed as the next revision.
// Cells are text; a value that was not text (a number, an object) stays that value unless its text changed,
// so editing one cell does not turn every number of the test set into a string.

export interface GridRow {
  /** A stable key for React (new rows get one too). */
  key: string;
  cells: Record<string, string>;
  /** The case's values as stored, to keep their types when a cell is left as it was. */
  original: Record<string, unknown>;
}

export interface Grid {
  columns: string[];
  rows: GridRow[];
}

let nextKey = 0;
const newKey = () => `row-${++nextKey}`;

export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function gridOf(testcases: { id?: string; data: Record<string, unknown> }[]): Grid {
  const columns = [...new Set(testcases.flatMap((testcase) => Object.keys(testcase.data)))];
  return {
    columns,
    rows: testcases.map((testcase) => ({
      key: testcase.id ?? newKey(),
      cells: Object.fromEntries(columns.map((column) => [column, cellText(testcase.data[column])])),
      original: testcase.data,
    })),
  };
}

export function setCell(grid: Grid, key: string, column: string, value: string): Grid {
  return {
    ...grid,
    rows: grid.rows.map((row) => (row.key === key ? { ...row, cells: { ...row.cells, [column]: value } } : row)),
  };
}

export function addRow(grid: Grid): Grid {
  return { ...grid, rows: [...grid.rows, { key: newKey(), cells: {}, original: {} }] };
}

export function removeRow(grid: Grid, key: string): Grid {
  return { ...grid, rows: grid.rows.filter((row) => row.key !== key) };
}

/** Add a column; the name must be new and non-empty (the reason otherwise). */
export function addColumn(grid: Grid, name: string): Grid | string {
  const column = name.trim();
  if (!column) return 'A column needs a name.';
  if (grid.columns.includes(column)) return `There is already a column "${column}".`;
  return { ...grid, columns: [...grid.columns, column] };
}

export function removeColumn(grid: Grid, column: string): Grid {
  return {
    columns: grid.columns.filter((name) => name !== column),
    rows: grid.rows.map((row) => {
      const { [column]: _removed, ...cells } = row.cells;
      return { ...row, cells };
    }),
  };
}

/** The `data.testcases` of the commit: one object per non-empty row, with the grid's columns in order. */
export function commitCases(grid: Grid): { data: Record<string, unknown> }[] {
  return grid.rows
    .filter((row) => grid.columns.some((column) => (row.cells[column] ?? '') !== ''))
    .map((row) => ({
      data: Object.fromEntries(
        grid.columns.map((column) => {
          const text = row.cells[column] ?? '';
          const before = row.original[column];
          // Unchanged: the stored value with its type; changed (or new): the text typed.
          return [column, before !== undefined && cellText(before) === text ? before : text];
        }),
      ),
    }));
}

export function isDirty(grid: Grid, saved: Grid): boolean {
  return JSON.stringify(commitCases(grid)) !== JSON.stringify(commitCases(saved));
}
