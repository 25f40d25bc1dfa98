import { Anchor, Badge, Button, Card, FileInput, Group, Stack, Table, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconUpload } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';
import { UploadErrors } from './UploadErrors';
import { fileTypeOf, uploadReport, type UploadReport } from './uploadReport';

export function useTestsets() {
  return useQuery({
    queryKey: ['testsets'],
    queryFn: () => unwrap(api.POST('/api/simple/testsets/query', { body: { include_archived: false, windowing: { limit: 200, order: 'descending' } } })),
  });
}

function UploadForm() {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [report, setReport] = useState<UploadReport | null>(null);
  const navigate = useNavigate();
  const client = useQueryClient();
  const upload = useMutation({
    mutationFn: async (chosen: File) => {
      const form = new FormData();
      form.append('file', chosen, chosen.name);
      form.append('file_type', fileTypeOf(chosen.name));
      form.append('testset_name', name.trim() || chosen.name.replace(/\.(csv|json)$/i, ''));
      return unwrap(
        api.POST('/api/simple/testsets/upload', { body: form as never, bodySerializer: (body) => body as unknown as FormData }),
      );
    },
    onSuccess: (answer) => {
      setReport(null);
      client.invalidateQueries({ queryKey: ['testsets'] });
      notifications.show({ color: 'green', message: `Uploaded ${answer.testset.name ?? 'the test set'}` });
      navigate(`/testsets/${answer.testset.id}`);
    },
    onError: async (error, chosen) => {
      setReport(uploadReport(error, await chosen.text(), fileTypeOf(chosen.name)));
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (file) upload.mutate(file);
  };
  return (
    <Card withBorder mb="md" component="form" onSubmit={submit} aria-label="Upload a test set">
      <Stack gap="sm">
        <Group align="flex-end" wrap="wrap">
          <FileInput
            label="CSV or JSON file"
            placeholder="Choose a file"
            accept=".csv,.json,text/csv,application/json"
            value={file}
            onChange={(chosen) => {
              setFile(chosen);
              setReport(null);
            }}
            leftSection={<IconUpload size={16} />}
            clearable
            w={320}
          />
          <TextInput
            label="Name"
            placeholder="From the file name"
            value={name}
            onChange={(event) => setName(event.currentTarget.value)}
            w={240}
          />
          <Button type="submit" disabled={!file} loading={upload.isPending}>
            Upload
          </Button>
        </Group>
        <Text size="xs" c="dimmed">
          CSV with a header line, or a JSON array of objects: one test case per row, one column per input (and the
          expected answer, e.g. <code>correct_answer</code>).
        </Text>
        {report && <UploadErrors report={report} />}
      </Stack>
    </Card>
  );
}

export function TestsetList() {
  const testsets = useTestsets();
  return (
    <>
      <PageHeader title="Test sets" description="Upload, edit and download test sets." />
      <UploadForm />
      {testsets.isPending ? (
        <Loading label="Loading test sets" />
      ) : testsets.isError ? (
        <ErrorAlert error={testsets.error} onRetry={() => testsets.refetch()} />
      ) : testsets.data.testsets.length === 0 ? (
        <EmptyState title="No test sets yet" description="Upload a CSV or JSON file above to create the first one." />
      ) : (
        <Table highlightOnHover verticalSpacing="xs" aria-label="Test sets">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Revision</Table.Th>
              <Table.Th>Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {testsets.data.testsets.map((testset) => (
              <Table.Tr key={testset.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/testsets/${testset.id}`}>
                    {testset.name || testset.slug}
                  </Anchor>
                </Table.Td>
                <Table.Td>{testset.version ? <Badge variant="light">v{testset.version}</Badge> : '—'}</Table.Td>
                <Table.Td>
                  <Text size="sm" c="dimmed">
                    {new Date(testset.updated_at ?? testset.created_at ?? '').toLocaleString()}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </>
  );
}
