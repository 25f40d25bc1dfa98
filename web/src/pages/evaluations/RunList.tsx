import { Anchor, Badge, Button, Checkbox, Table, Text } from '@mantine/core';
import { IconPlus, IconScale } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';
import { CreateRun } from './CreateRun';
import { EvaluatorForm } from './EvaluatorForm';
import { isActive, POLL_MS, STATUS_COLORS } from './model';
import { RunProgress } from './RunProgress';

const RUNS_LISTED = 100;

export function RunList() {
  const runs = useQuery({
    queryKey: ['evaluation-runs'],
    queryFn: () =>
      unwrap(api.POST('/api/evaluations/runs/query', { body: { windowing: { limit: RUNS_LISTED, order: 'descending' } } })),
    // Poll while any run is still going, so its progress bar moves.
    refetchInterval: (query) => (query.state.data?.runs.some((run) => isActive(run)) ? POLL_MS * 2 : false),
  });
  const [creating, setCreating] = useState(false);
  const [newEvaluator, setNewEvaluator] = useState(false);
  const [selected, setSelected] = useState<string[]>([]);
  const navigate = useNavigate();
  const toggle = (id: string) =>
    setSelected((current) => (current.includes(id) ? current.filter((item) => item !== id) : [...current, id]));
  return (
    <>
      <PageHeader
        title="Evaluations"
        description="Run test sets through revisions and evaluators, and compare the results."
        actions={
          <>
            <Button variant="default" onClick={() => setNewEvaluator(true)}>
              New evaluator
            </Button>
            <Button
              variant="default"
              leftSection={<IconScale size={16} />}
              disabled={selected.length < 2}
              onClick={() => navigate(`/evaluations/compare?runs=${selected.join(',')}`)}
            >
              Compare{selected.length >= 2 ? ` (${selected.length})` : ''}
            </Button>
            <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
              New evaluation
            </Button>
          </>
        }
      />
      {runs.isPending ? (
        <Loading label="Loading evaluations" />
      ) : runs.isError ? (
        <ErrorAlert error={runs.error} onRetry={() => runs.refetch()} />
      ) : runs.data.runs.length === 0 ? (
        <EmptyState
          title="No evaluations yet"
          description="An evaluation runs every case of a test set through application revisions and scores the outputs."
          action={<Button onClick={() => setCreating(true)}>New evaluation</Button>}
        />
      ) : (
        <Table highlightOnHover verticalSpacing="xs" aria-label="Evaluation runs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={40} />
              <Table.Th>Run</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th w={280}>Progress</Table.Th>
              <Table.Th>Created</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {runs.data.runs.map((run) => (
              <Table.Tr key={run.id}>
                <Table.Td>
                  <Checkbox
                    aria-label={`Select ${run.name || run.id} to compare`}
                    checked={selected.includes(run.id)}
                    onChange={() => toggle(run.id)}
                  />
                </Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/evaluations/${run.id}`}>
                    {run.name || `Run ${run.id.slice(0, 8)}`}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLORS[run.status] ?? 'gray'} variant="light">
                    {run.status}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <RunProgress run={run} size="sm" />
                </Table.Td>
                <Table.Td>
                  <Text size="sm" c="dimmed">
                    {run.created_at ? new Date(run.created_at).toLocaleString() : ''}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <CreateRun opened={creating} onClose={() => setCreating(false)} onNewEvaluator={() => setNewEvaluator(true)} />
      <EvaluatorForm opened={newEvaluator} onClose={() => setNewEvaluator(false)} />
    </>
  );
}
