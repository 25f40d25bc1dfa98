import { Alert, Badge, ScrollArea, Stack, Table, Text } from '@mantine/core';
import type { UploadReport } from './uploadReport';

const MAX_SHOWN = 200;

/** A refused file: the API's message, then the file's rows with each row's errors beside it. */
export function UploadErrors({ report }: { report: UploadReport }) {
  const bad = report.rows.filter((row) => row.errors.length > 0);
  const shown = (bad.length ? bad : report.rows).slice(0, MAX_SHOWN);
  return (
    <Alert color="red" title="The file was not uploaded" role="alert" variant="light">
      <Stack gap="xs">
        <Text size="sm">{report.message}</Text>
        {bad.length > 0 && (
          <Text size="xs" c="dimmed">
            {bad.length} {bad.length === 1 ? 'row needs' : 'rows need'} fixing
          </Text>
        )}
        {shown.length > 0 && (
          <ScrollArea.Autosize mah={300}>
            <Table striped withTableBorder fz="xs" data-testid="upload-row-errors">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Row</Table.Th>
                  {report.header.map((column) => (
                    <Table.Th key={column}>{column}</Table.Th>
                  ))}
                  <Table.Th>Error</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {shown.map((row) => (
                  <Table.Tr key={row.row} data-row={row.row}>
                    <Table.Td>{row.row}</Table.Td>
                    {report.header.map((column, index) => (
                      <Table.Td key={column}>{row.cells[index] ?? ''}</Table.Td>
                    ))}
                    <Table.Td>
                      {row.errors.map((error) => (
                        <Badge key={error} color="red" variant="light" style={{ textTransform: 'none' }}>
                          {error}
                        </Badge>
                      ))}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea.Autosize>
        )}
      </Stack>
    </Alert>
  );
}
