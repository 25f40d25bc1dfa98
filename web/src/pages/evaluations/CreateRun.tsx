import { Anchor, Button, Group, Modal, MultiSelect, NumberInput, Select, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components';
import { useApplicationRevisionChoices, useEvaluators, useTestsetChoices } from './lookups';

const MAX_REPEATS = 100;
const MAX_CONCURRENCY = 100;

/** A run: one test set revision x application revisions x evaluators, with repeats and concurrency. */
export function CreateRun({
  opened,
  onClose,
  onNewEvaluator,
}: {
  opened: boolean;
  onClose: () => void;
  onNewEvaluator: () => void;
}) {
  const testsets = useTestsetChoices();
  const applications = useApplicationRevisionChoices();
  const evaluators = useEvaluators();
  const [name, setName] = useState('');
  const [testset, setTestset] = useState<string | null>(null);
  const [apps, setApps] = useState<string[]>([]);
  const [chosenEvaluators, setChosenEvaluators] = useState<string[]>([]);
  const [repeats, setRepeats] = useState<number>(1);
  const [concurrency, setConcurrency] = useState<number>(5);
  const navigate = useNavigate();
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/simple/evaluations/', {
          body: {
            evaluation: {
              name: name.trim() || undefined,
              data: {
                testset_steps: { [testset as string]: 'custom' },
                application_steps: Object.fromEntries(apps.map((id) => [id, 'custom' as const])),
                evaluator_steps: Object.fromEntries(chosenEvaluators.map((id) => [id, 'auto' as const])),
                repeats,
                concurrency,
              },
            },
          },
        }),
      ),
    onSuccess: (answer) => {
      client.invalidateQueries({ queryKey: ['evaluation-runs'] });
      onClose();
      navigate(`/evaluations/${answer.evaluation?.id}`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const evaluatorChoices = (evaluators.data?.evaluators ?? [])
    .filter((evaluator) => evaluator.revision_id)
    .map((evaluator) => ({ value: evaluator.revision_id as string, label: evaluator.name || evaluator.slug }));
  return (
    <Modal opened={opened} onClose={onClose} title="New evaluation" size="lg">
      <Stack component="form" onSubmit={submit} gap="sm">
        <TextInput label="Name" placeholder="Optional" value={name} onChange={(event) => setName(event.currentTarget.value)} data-autofocus />
        <Select
          label="Test set"
          placeholder={testsets.isPending ? 'Loading…' : 'Choose a test set revision'}
          data={testsets.data ?? []}
          value={testset}
          onChange={setTestset}
          searchable
          required
          nothingFoundMessage="No test sets: upload one first"
          error={testsets.isError ? testsets.error.message : undefined}
        />
        <MultiSelect
          label="Application revisions"
          placeholder={applications.isPending ? 'Loading…' : 'One or more'}
          data={applications.data ?? []}
          value={apps}
          onChange={setApps}
          searchable
          required
          nothingFoundMessage="No applications yet"
          error={applications.isError ? applications.error.message : undefined}
        />
        <MultiSelect
          label="Evaluators"
          placeholder={evaluators.isPending ? 'Loading…' : 'Any number'}
          data={evaluatorChoices}
          value={chosenEvaluators}
          onChange={setChosenEvaluators}
          searchable
          nothingFoundMessage="No evaluators yet"
          description={
            <Anchor component="button" type="button" size="xs" onClick={onNewEvaluator}>
              New evaluator…
            </Anchor>
          }
        />
        <Group grow>
          <NumberInput label="Repeats" min={1} max={MAX_REPEATS} value={repeats} onChange={(value) => setRepeats(Number(value) || 1)} />
          <NumberInput
            label="Concurrency"
            min={1}
            max={MAX_CONCURRENCY}
            value={concurrency}
            onChange={(value) => setConcurrency(Number(value) || 1)}
          />
        </Group>
        {create.isError && <ErrorAlert error={create.error} title="The run was not created" />}
        <Group justify="space-between">
          <Text size="xs" c="dimmed">
            No test set yet? <Anchor component={Link} to="/testsets" size="xs">Upload one</Anchor>.
          </Text>
          <Button type="submit" loading={create.isPending} disabled={!testset || apps.length === 0}>
            Start evaluation
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
