import {
  ActionIcon,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Modal,
  ScrollArea,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDownload, IconPlus, IconTrash, IconX } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';
import {
  addColumn,
  addRow,
  commitCases,
  gridOf,
  isDirty,
  removeColumn,
  removeRow,
  setCell,
  type Grid,
} from './grid';

type FileFormat = 'csv' | 'json';

function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function downloadTestset(testsetId: string, format: FileFormat, name: string) {
  const blob = await unwrap(
    api.GET('/api/simple/testsets/{testset_id}/download', {
      params: { path: { testset_id: testsetId }, query: { format } },
      parseAs: 'blob',
    }),
  );
  saveBlob(blob as unknown as Blob, `${name}.${format}`);
}

async function downloadRevision(revisionId: string, format: FileFormat, name: string) {
  const blob = await unwrap(
    api.POST('/api/testsets/revisions/{revision_id}/download', {
      params: { path: { revision_id: revisionId }, query: { file_type: format } },
      parseAs: 'blob',
    }),
  );
  saveBlob(blob as unknown as Blob, `${name}.${format}`);
}

function DownloadButtons({ onDownload }: { onDownload: (format: FileFormat) => Promise<void> }) {
  const [busy, setBusy] = useState<FileFormat | null>(null);
  const run = async (format: FileFormat) => {
    setBusy(format);
    try {
      await onDownload(format);
    } catch (error) {
      notifications.show({ color: 'red', title: 'Download failed', message: (error as Error).message });
    } finally {
      setBusy(null);
    }
  };
  return (
    <Group gap="xs">
      {(['csv', 'json'] as const).map((format) => (
        <Button
          key={format}
          size="xs"
          variant="default"
          leftSection={<IconDownload size={14} />}
          loading={busy === format}
          onClick={() => run(format)}
        >
          {format.toUpperCase()}
        </Button>
      ))}
    </Group>
  );
}

function ColumnAdder({ onAdd }: { onAdd: (name: string) => string | null }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problem = onAdd(name);
    setError(problem);
    if (!problem) setName('');
  };
  return (
    <Group component="form" onSubmit={submit} gap="xs" align="flex-start">
      <TextInput
        size="xs"
        placeholder="New column"
        aria-label="New column name"
        value={name}
        error={error}
        onChange={(event) => setName(event.currentTarget.value)}
      />
      <Button size="xs" variant="light" type="submit" leftSection={<IconPlus size={14} />}>
        Add column
      </Button>
    </Group>
  );
}

/** The editable grid: one text input per cell; add and remove rows and columns; commit as a new revision. */
function CaseGrid({ testsetId, saved }: { testsetId: string; saved: Grid }) {
  const [grid, setGrid] = useState(saved);
  const [message, setMessage] = useState('');
  useEffect(() => setGrid(saved), [saved]);
  const client = useQueryClient();
  const commit = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/api/simple/testsets/{testset_id}', {
          params: { path: { testset_id: testsetId } },
          body: { testset: { data: { testcases: commitCases(grid) }, message: message.trim() || 'edited in the grid' } },
        }),
      ),
    onSuccess: (answer) => {
      setMessage('');
      client.invalidateQueries({ queryKey: ['testsets'] });
      client.invalidateQueries({ queryKey: ['testset', testsetId] });
      notifications.show({ color: 'green', message: `Committed revision v${answer.testset.version}` });
    },
  });
  const dirty = isDirty(grid, saved);
  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <ColumnAdder
          onAdd={(name) => {
            const next = addColumn(grid, name);
            if (typeof next === 'string') return next;
            setGrid(next);
            return null;
          }}
        />
        <Group gap="xs">
          <TextInput
            size="xs"
            placeholder="Commit message"
            aria-label="Commit message"
            value={message}
            onChange={(event) => setMessage(event.currentTarget.value)}
            w={240}
          />
          <Button size="xs" variant="default" disabled={!dirty} onClick={() => setGrid(saved)}>
            Discard
          </Button>
          <Button size="xs" disabled={!dirty} loading={commit.isPending} onClick={() => commit.mutate()}>
            Commit revision
          </Button>
        </Group>
      </Group>
      {commit.isError && <ErrorAlert error={commit.error} title="The revision was not committed" />}
      <ScrollArea type="auto">
        <Table withTableBorder withColumnBorders verticalSpacing={4} aria-label="Test cases">
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={40}>#</Table.Th>
              {grid.columns.map((column) => (
                <Table.Th key={column} miw={160}>
                  <Group gap={4} wrap="nowrap" justify="space-between">
                    <Text size="sm" fw={600}>
                      {column}
                    </Text>
                    <Tooltip label={`Remove column ${column}`}>
                      <ActionIcon
                        size="xs"
                        variant="subtle"
                        color="gray"
                        aria-label={`Remove column ${column}`}
                        onClick={() => setGrid(removeColumn(grid, column))}
                      >
                        <IconX size={12} />
                      </ActionIcon>
                    </Tooltip>
                  </Group>
                </Table.Th>
              ))}
              <Table.Th w={40} />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {grid.rows.map((row, index) => (
              <Table.Tr key={row.key}>
                <Table.Td>
                  <Text size="xs" c="dimmed">
                    {index + 1}
                  </Text>
                </Table.Td>
                {grid.columns.map((column) => (
                  <Table.Td key={column} p={0}>
                    <TextInput
                      variant="unstyled"
                      px="xs"
                      aria-label={`Row ${index + 1} ${column}`}
                      value={row.cells[column] ?? ''}
                      onChange={(event) => setGrid(setCell(grid, row.key, column, event.currentTarget.value))}
                    />
                  </Table.Td>
                ))}
                <Table.Td>
                  <ActionIcon
                    size="sm"
                    variant="subtle"
                    color="red"
                    aria-label={`Remove row ${index + 1}`}
                    onClick={() => setGrid(removeRow(grid, row.key))}
                  >
                    <IconTrash size={14} />
                  </ActionIcon>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea>
      <Button size="xs" variant="light" w="fit-content" leftSection={<IconPlus size={14} />} onClick={() => setGrid(addRow(grid))}>
        Add row
      </Button>
    </Stack>
  );
}

function RevisionView({ revisionId, onClose }: { revisionId: string; onClose: () => void }) {
  const revision = useQuery({
    queryKey: ['testset-revision', revisionId],
    queryFn: () =>
      unwrap(api.GET('/api/testsets/revisions/{revision_id}', { params: { path: { revision_id: revisionId } } })),
  });
  const found = revision.data?.testset_revision;
  const grid = useMemo(() => gridOf(found?.data.testcases ?? []), [found]);
  return (
    <Modal opened onClose={onClose} size="xl" title={found ? `Revision v${found.version}` : 'Revision'}>
      {revision.isPending ? (
        <Loading />
      ) : revision.isError ? (
        <ErrorAlert error={revision.error} />
      ) : (
        <Stack>
          <Group justify="space-between">
            <Text size="sm" c="dimmed">
              {found?.message || 'No message'} · {grid.rows.length} cases
            </Text>
            <DownloadButtons onDownload={(format) => downloadRevision(revisionId, format, `testset-v${found?.version}`)} />
          </Group>
          <ScrollArea.Autosize mah={480}>
            <Table striped withTableBorder fz="sm">
              <Table.Thead>
                <Table.Tr>
                  {grid.columns.map((column) => (
                    <Table.Th key={column}>{column}</Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {grid.rows.map((row) => (
                  <Table.Tr key={row.key}>
                    {grid.columns.map((column) => (
                      <Table.Td key={column}>{row.cells[column]}</Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea.Autosize>
        </Stack>
      )}
    </Modal>
  );
}

function Revisions({ testsetId }: { testsetId: string }) {
  const [open, setOpen] = useState<string | null>(null);
  const log = useQuery({
    queryKey: ['testset', testsetId, 'revisions'],
    queryFn: () => unwrap(api.POST('/api/testsets/revisions/log', { body: { testset_ref: { id: testsetId } } })),
  });
  if (log.isPending) return <Loading label="Loading revisions" />;
  if (log.isError) return <ErrorAlert error={log.error} onRetry={() => log.refetch()} />;
  if (log.data.testset_revisions.length === 0) return <EmptyState title="No revisions yet" />;
  return (
    <>
      <Table highlightOnHover aria-label="Revisions">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Version</Table.Th>
            <Table.Th>Message</Table.Th>
            <Table.Th>Committed</Table.Th>
            <Table.Th>By</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {log.data.testset_revisions.map((revision) => (
            <Table.Tr key={revision.id}>
              <Table.Td>
                <Anchor component="button" type="button" onClick={() => setOpen(revision.id)}>
                  v{revision.version}
                </Anchor>
              </Table.Td>
              <Table.Td>{revision.message}</Table.Td>
              <Table.Td>{revision.created_at ? new Date(revision.created_at).toLocaleString() : ''}</Table.Td>
              <Table.Td>{revision.created_by}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {open && <RevisionView revisionId={open} onClose={() => setOpen(null)} />}
    </>
  );
}

export function TestsetDetail() {
  const { testsetId = '' } = useParams();
  const testset = useQuery({
    queryKey: ['testset', testsetId],
    queryFn: () =>
      unwrap(api.GET('/api/simple/testsets/{testset_id}', { params: { path: { testset_id: testsetId } } })),
  });
  const found = testset.data?.testset;
  const saved = useMemo(() => gridOf(found?.data?.testcases ?? []), [found]);
  if (testset.isPending) return <Loading label="Loading the test set" />;
  if (testset.isError || !found)
    return (
      <>
        <PageHeader title="Test set" />
        <ErrorAlert error={testset.error ?? 'Not found'} onRetry={() => testset.refetch()} />
      </>
    );
  const name = found.name || found.slug;
  return (
    <>
      <PageHeader
        title={name}
        description={
          <>
            <Anchor component={Link} to="/testsets" size="sm">
              Test sets
            </Anchor>{' '}
            · {saved.rows.length} cases · {found.version ? <Badge variant="light">v{found.version}</Badge> : 'no revision'}
          </>
        }
        actions={<DownloadButtons onDownload={(format) => downloadTestset(testsetId, format, found.slug)} />}
      />
      <Tabs defaultValue="cases" keepMounted={false}>
        <Tabs.List mb="sm">
          <Tabs.Tab value="cases">Cases</Tabs.Tab>
          <Tabs.Tab value="revisions">Revisions</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="cases">
          <Card withBorder>
            <CaseGrid testsetId={testsetId} saved={saved} />
          </Card>
        </Tabs.Panel>
        <Tabs.Panel value="revisions">
          <Revisions testsetId={testsetId} />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
