import { Badge, Box, Group, ScrollArea, Table, Text } from '@mantine/core';
import { useMemo } from 'react';
import { diffJson, type DiffRow } from './jsonDiff';

// Theme-aware tints (Mantine's light variants adapt to the dark scheme).
const TINT = {
  removed: 'var(--mantine-color-red-light)',
  added: 'var(--mantine-color-green-light)',
  changed: 'var(--mantine-color-yellow-light)',
};

function Side({ row, side }: { row: DiffRow; side: 'left' | 'right' }) {
  const line = row[side];
  const tinted = row.kind !== 'same' && line !== undefined;
  const background = tinted ? TINT[row.kind === 'changed' ? 'changed' : side === 'left' ? 'removed' : 'added'] : undefined;
  return (
    <>
      <Table.Td w={44} c="dimmed" ta="right" style={{ userSelect: 'none', background }}>
        {line?.number}
      </Table.Td>
      <Table.Td style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', background }}>{line?.text}</Table.Td>
    </>
  );
}

/** Two revisions' `data` side by side, line by line, with what changed tinted. */
export function RevisionDiff({
  before,
  after,
  beforeLabel,
  afterLabel,
}: {
  before: unknown;
  after: unknown;
  beforeLabel: string;
  afterLabel: string;
}) {
  const rows = useMemo(() => diffJson(before, after), [before, after]);
  const removed = rows.filter((row) => row.left && row.kind !== 'same').length;
  const added = rows.filter((row) => row.right && row.kind !== 'same').length;
  return (
    <Box data-testid="revision-diff">
      <Group gap="xs" mb="xs">
        {added + removed === 0 ? (
          <Text size="sm" c="dimmed">
            No differences in data.
          </Text>
        ) : (
          <>
            <Badge color="red" variant="light" tt="none">−{removed} lines</Badge>
            <Badge color="green" variant="light" tt="none">+{added} lines</Badge>
          </>
        )}
      </Group>
      <ScrollArea.Autosize mah={520}>
        <Table ff="monospace" fz="xs" verticalSpacing={2} horizontalSpacing={6} layout="fixed" withColumnBorders>
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={44} />
              <Table.Th>{beforeLabel}</Table.Th>
              <Table.Th w={44} />
              <Table.Th>{afterLabel}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row, index) => (
              <Table.Tr key={index} data-kind={row.kind}>
                <Side row={row} side="left" />
                <Side row={row} side="right" />
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea.Autosize>
    </Box>
  );
}
