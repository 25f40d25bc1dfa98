import { diffJson } from './jsonDiff';

describe('diffJson', () => {
  it('pairs changed lines side by side, ignores key order, and numbers each side', () => {
    const before = { parameters: { prompt: { model: 'mock/echo', temperature: 0.2 } }, b: 1 };
    const after = { b: 1, parameters: { prompt: { temperature: 0.7, model: 'mock/echo', max_tokens: 9 } } };
    const rows = diffJson(before, after);
    const changed = rows.filter((row) => row.kind !== 'same');
    expect(changed).toEqual([
      { kind: 'added', right: { number: 5, text: '      "max_tokens": 9,' } },
      {
        kind: 'changed',
        left: { number: 6, text: '      "temperature": 0.2' },
        right: { number: 7, text: '      "temperature": 0.7' },
      },
    ]);
    expect(diffJson(before, structuredClone(before)).every((row) => row.kind === 'same')).toBe(true);
  });
});
