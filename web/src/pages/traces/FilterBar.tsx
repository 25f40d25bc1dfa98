import { Button, Group, Loader, NumberInput, SegmentedControl, Select, TextInput } from '@mantine/core';
import { lazy, Suspense, useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import {
  CUSTOM_RANGE_LABEL,
  DEFAULT_FILTERS,
  filtersFromParams,
  filtersToParams,
  RANGES,
  type SpanScope,
  type StatusFilter,
  type TimeRange,
  type TraceFilters,
} from './filters';

// @mantine/dates and dayjs load only when a custom range is chosen: the list's chunk is on its first paint's path.
const CustomRangeFields = lazy(() => import('./CustomRangeFields'));

/** The filters as the URL holds them, and a setter that writes them back (replacing the history entry, so Back
 * leaves the page rather than stepping through every keystroke). */
export function useTraceFilters(): [TraceFilters, (next: TraceFilters) => void] {
  const [params, setParams] = useSearchParams();
  const filters = filtersFromParams(params);
  return [filters, (next) => setParams(filtersToParams(next), { replace: true })];
}

function asNumber(value: string | number): number | null {
  return value === '' || value === null ? null : Number(value);
}

/** Choices apply at once; typed values (name, model, ranges) when the form is submitted (Enter) or left. */
export function FilterBar({ filters, onChange }: { filters: TraceFilters; onChange: (next: TraceFilters) => void }) {
  const [draft, setDraft] = useState(filters);
  const key = filtersToParams(filters).toString();
  // A new URL (a link, Back, Clear) resets what is being typed.
  useEffect(() => setDraft(filters), [key]);
  const apply = (next: TraceFilters = draft) => {
    setDraft(next);
    if (filtersToParams(next).toString() !== key) onChange(next);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply();
  };
  const numberField = (label: string, field: keyof TraceFilters, suffix?: string, decimals?: number) => (
    <NumberInput
      label={label}
      w={110}
      size="xs"
      min={0}
      decimalScale={decimals}
      suffix={suffix}
      hideControls
      value={(draft[field] as number | null) ?? ''}
      onChange={(value) => setDraft({ ...draft, [field]: asNumber(value) })}
      onBlur={() => apply()}
    />
  );
  return (
    <form onSubmit={submit} aria-label="Trace filters">
      <Group align="flex-end" gap="sm" mb="md" wrap="wrap">
        <Select
          label="Time range"
          size="xs"
          w={150}
          allowDeselect={false}
          data={[
            ...Object.entries(RANGES).map(([value, { label }]) => ({ value, label })),
            { value: 'custom', label: CUSTOM_RANGE_LABEL },
          ]}
          value={draft.range}
          onChange={(value) => {
            if (!value) return;
            // Custom starts from the last 24 hours, to be narrowed; the URL gets its bounds once there are some.
            if (value === 'custom')
              apply({ ...draft, range: 'custom', from: draft.from ?? new Date(Date.now() - 24 * 3600_000), to: draft.to });
            else apply({ ...draft, range: value as TimeRange, from: null, to: null });
          }}
        />
        {draft.range === 'custom' && (
          <Suspense fallback={<Loader size="xs" mb={6} aria-label="Loading the date pickers" />}>
            <CustomRangeFields from={draft.from} to={draft.to} onChange={(bounds) => apply({ ...draft, ...bounds })} />
          </Suspense>
        )}
        <div>
          <SegmentedControl
            size="xs"
            aria-label="Status"
            value={draft.status}
            onChange={(value) => apply({ ...draft, status: value as StatusFilter })}
            data={[
              { value: 'any', label: 'Any status' },
              { value: 'ok', label: 'OK' },
              { value: 'error', label: 'Error' },
            ]}
          />
        </div>
        <div>
          <SegmentedControl
            size="xs"
            aria-label="Spans shown"
            value={draft.scope}
            onChange={(value) => apply({ ...draft, scope: value as SpanScope })}
            data={[
              { value: 'root', label: 'Traces' },
              { value: 'all', label: 'All spans' },
            ]}
          />
        </div>
        <TextInput
          label="Name"
          size="xs"
          w={150}
          placeholder="contains…"
          value={draft.name}
          onChange={(event) => setDraft({ ...draft, name: event.currentTarget.value })}
          onBlur={() => apply()}
        />
        <TextInput
          label="Model"
          size="xs"
          w={150}
          placeholder="contains…"
          value={draft.model}
          onChange={(event) => setDraft({ ...draft, model: event.currentTarget.value })}
          onBlur={() => apply()}
        />
        {numberField('Cost from ($)', 'costMin', undefined, 6)}
        {numberField('Cost to ($)', 'costMax', undefined, 6)}
        {numberField('Latency from', 'latencyMinMs', ' ms')}
        {numberField('Latency to', 'latencyMaxMs', ' ms')}
        <Button type="submit" size="xs" variant="light">
          Apply
        </Button>
        <Button size="xs" variant="subtle" onClick={() => apply(DEFAULT_FILTERS)}>
          Clear
        </Button>
      </Group>
    </form>
  );
}
