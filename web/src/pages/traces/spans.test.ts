import { buildTree, flatten, summarize, type SpanNode, type TraceView } from './spans';

function span(id: string, name: string, start: string, extra: Partial<SpanNode> = {}): SpanNode {
  return {
    trace_id: 'a'.repeat(32),
    span_id: id,
    parent_id: null,
    trace_type: 'invocation',
    span_type: 'task',
    span_kind: 'SPAN_KIND_INTERNAL',
    span_name: name,
    start_time: start,
    end_time: start,
    status_code: 'STATUS_CODE_OK',
    ...extra,
  } as SpanNode;
}

describe('the span tree of a trace', () => {
  it('orders children by start time, splits siblings that share a name, and marks the path to an error', () => {
    const failed = span('c2', 'chat', '2026-01-01T00:00:03Z', { status_code: 'STATUS_CODE_ERROR' });
    const trace: TraceView = {
      trace_id: 'a'.repeat(32),
      spans: {
        agent: span('r1', 'agent', '2026-01-01T00:00:00Z', {
          // As the API keys them: by name, a list where siblings share one (here out of start order).
          spans: {
            chat: [failed, span('c1', 'chat', '2026-01-01T00:00:02Z')],
            retrieve: span('s1', 'retrieve', '2026-01-01T00:00:01Z'),
          },
        }),
      },
    };
    const tree = buildTree(trace);
    expect(tree.map((item) => item.value)).toEqual(['r1']);
    expect(tree[0].children.map((item) => item.value)).toEqual(['s1', 'c1', 'c2']);
    expect(flatten(tree).map((item) => [item.value, item.depth, item.hasError])).toEqual([
      ['r1', 0, true],
      ['s1', 1, false],
      ['c1', 1, false],
      ['c2', 1, true],
    ]);
  });

  it("reads a span's metrics, model and data from attributes.ag", () => {
    const chat = span('c1', 'chat', '2026-01-01T00:00:00Z', {
      attributes: {
        ag: {
          data: { inputs: { q: 'why' }, outputs: 'because' },
          meta: { request: { model: 'gpt-4o-mini' } },
          metrics: {
            duration: { cumulative: 812.5 },
            tokens: { incremental: { total: 30 }, cumulative: { total: 90 } },
            costs: { incremental: { total: 0.002 } },
          },
        },
      },
    });
    expect(summarize(chat)).toEqual({
      durationMs: 812.5,
      tokens: 30,
      cost: 0.002,
      model: 'gpt-4o-mini',
      inputs: { q: 'why' },
      outputs: 'because',
      isError: false,
    });
    // With its children where the tree has them, its own figures otherwise.
    expect(summarize(chat, 'cumulative')).toMatchObject({ tokens: 90, cost: 0.002 });
  });
});
