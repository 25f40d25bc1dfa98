import { Anchor, Button, Group, Modal, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components';

export interface SpanRef {
  trace_id: string;
  span_id: string;
}

/** Selected spans into a test set: appended to an existing one (its next revision) or as a new one. Each span's
 * inputs become columns and its outputs the expected answer (POST /api/simple/testsets/from-traces). */
export function AddToTestsetModal({
  spans,
  opened,
  onClose,
  onAdded,
}: {
  spans: SpanRef[];
  opened: boolean;
  onClose: () => void;
  onAdded?: () => void;
}) {
  const [target, setTarget] = useState<'new' | 'existing'>('new');
  const [name, setName] = useState('');
  const [testsetId, setTestsetId] = useState<string | null>(null);
  const testsets = useQuery({
    queryKey: ['testsets', 'simple'],
    queryFn: () => unwrap(api.POST('/api/simple/testsets/query', { body: { include_archived: false } })),
    enabled: opened && target === 'existing',
  });
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/simple/testsets/from-traces', {
          body:
            target === 'new'
              ? { spans, testset: { name: name.trim() }, outputs_column: 'correct_answer' }
              : { spans, testset_id: testsetId, outputs_column: 'correct_answer' },
        }),
      ),
    onSuccess: ({ testset }) => {
      notifications.show({
        color: 'green',
        title: 'Added to test set',
        message: (
          <Text size="sm">
            {spans.length} {spans.length === 1 ? 'span' : 'spans'} added to{' '}
            {/* A plain link: notifications render outside the router. */}
            <Anchor href={`/testsets/${testset.id}`}>
              {testset.name ?? testset.slug}
            </Anchor>
          </Text>
        ),
      });
      add.reset();
      onAdded?.();
      onClose();
    },
  });
  const ready = target === 'new' ? name.trim().length > 0 : testsetId !== null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (ready && !add.isPending) add.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title={`Add ${spans.length} ${spans.length === 1 ? 'span' : 'spans'} to a test set`}>
      <form onSubmit={submit}>
        <Stack>
          <Text size="sm" c="dimmed">
            Each span becomes a test case: its inputs are the columns, its outputs the correct answer.
          </Text>
          <SegmentedControl
            value={target}
            onChange={(value) => setTarget(value as 'new' | 'existing')}
            data={[
              { value: 'new', label: 'New test set' },
              { value: 'existing', label: 'Existing test set' },
            ]}
          />
          {target === 'new' ? (
            <TextInput
              label="Test set name"
              placeholder="e.g. support questions"
              value={name}
              onChange={(event) => setName(event.currentTarget.value)}
              required
              data-autofocus
            />
          ) : (
            <Select
              label="Test set"
              placeholder={testsets.isLoading ? 'Loading test sets…' : 'Pick a test set'}
              searchable
              nothingFoundMessage="No test set by that name"
              data={(testsets.data?.testsets ?? []).map((item) => ({
                value: item.id,
                label: item.name ?? item.slug,
              }))}
              value={testsetId}
              onChange={setTestsetId}
              required
            />
          )}
          {testsets.error && <ErrorAlert error={testsets.error} title="Could not list test sets" />}
          {add.error && <ErrorAlert error={add.error} title="Could not add the spans" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={!ready} loading={add.isPending}>
              Add to test set
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
