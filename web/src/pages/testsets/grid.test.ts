import { addColumn, addRow, commitCases, gridOf, isDirty, removeColumn, setCell, type Grid } from './grid';

describe('the test case grid', () => {
  it('commits the edited rows, keeping the types of untouched values and dropping empty rows', () => {
    const saved = gridOf([
      { id: 'a', data: { question: 'two plus two', answer: 4, meta: { level: 1 } } },
      { id: 'b', data: { question: 'capital of France', answer: 'Paris' } },
    ]);
    expect(saved.columns).toEqual(['question', 'answer', 'meta']);
    let grid: Grid = setCell(saved, 'b', 'answer', 'paris');
    grid = removeColumn(grid, 'meta');
    grid = addColumn(grid, ' lang ') as Grid;
    grid = setCell(grid, 'a', 'lang', 'en');
    grid = addRow(grid); // left empty: not committed
    const blank = grid.rows[2].key;
    grid = addRow(grid);
    grid = setCell(grid, grid.rows[3].key, 'question', 'new one');
    expect(grid.rows.some((row) => row.key === blank)).toBe(true);
    expect(isDirty(grid, saved)).toBe(true);
    expect(commitCases(grid)).toEqual([
      { data: { question: 'two plus two', answer: 4, lang: 'en' } },
      { data: { question: 'capital of France', answer: 'paris', lang: '' } },
      { data: { question: 'new one', answer: '', lang: '' } },
    ]);
  });

  it('refuses a column that exists or has no name', () => {
    const grid = gridOf([{ data: { q: 'x' } }]);
    expect(addColumn(grid, 'q')).toBe('There is already a column "q".');
    expect(addColumn(grid, '  ')).toBe('A column needs a name.');
    expect(isDirty(grid, grid)).toBe(false);
  });
});
