import '@mantine/dates/styles.css';
import { DateTimePicker } from '@mantine/dates';

/** The bounds of a custom time range (start times in [from, to)); either may be cleared for an open end. */
export default function CustomRangeFields({
  from,
  to,
  onChange,
}: {
  from: Date | null;
  to: Date | null;
  onChange: (bounds: { from: Date | null; to: Date | null }) => void;
}) {
  return (
    <>
      <DateTimePicker
        label="From"
        size="xs"
        w={170}
        clearable
        valueFormat="YYYY-MM-DD HH:mm"
        placeholder="the beginning"
        value={from}
        maxDate={to ?? undefined}
        onChange={(value) => onChange({ from: value, to })}
      />
      <DateTimePicker
        label="To"
        size="xs"
        w={170}
        clearable
        valueFormat="YYYY-MM-DD HH:mm"
        placeholder="now"
        value={to}
        minDate={from ?? undefined}
        onChange={(value) => onChange({ from, to: value })}
      />
    </>
  );
}
