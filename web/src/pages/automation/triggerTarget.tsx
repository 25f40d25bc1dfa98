// What a trigger (a schedule or an event subscription) runs: an application revision with inputs, or a new
// evaluation; shared by both forms, with the delivery log both show.

import { Badge, ScrollArea, SegmentedControl, Select, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { CodeEditor, EmptyState, ErrorAlert, Loading } from '../../components';
import { useApplicationRevisionChoices } from '../evaluations/lookups';

export const EVALUATION_EXAMPLE = JSON.stringify(
  { testset_steps: { '<testset revision id>': 'custom' }, application_steps: { '<application revision id>': 'custom' }, evaluator_steps: {} },
  null,
  2,
);

export interface TriggerTarget {
  kind: 'application' | 'evaluation';
  revision: string | null;
  /** JSON: the inputs (a schedule's constants, or a subscription's `{"input": "$.payload.x"}` mapping). */
  inputs: string;
  evaluation: string;
}

export const NEW_TARGET: TriggerTarget = { kind: 'application', revision: null, inputs: '{}', evaluation: EVALUATION_EXAMPLE };

export function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  throw new Error(`${what} must be a JSON object`);
}

const pretty = (value: unknown) => JSON.stringify(value ?? {}, null, 2);

/** The form's target of a stored trigger's `data`. */
export function targetFromData(data: Record<string, unknown>): TriggerTarget {
  if (data.evaluation) return { ...NEW_TARGET, kind: 'evaluation', evaluation: pretty(data.evaluation) };
  const references = (data.references ?? {}) as Record<string, { id?: string | null } | null>;
  return { ...NEW_TARGET, revision: references.application_revision?.id ?? null, inputs: pretty(data.inputs_fields) };
}

/** The `data` fields of the target (the rest of `data` is the trigger's own). */
export function targetToData(target: TriggerTarget) {
  return target.kind === 'application'
    ? { references: { application_revision: { id: target.revision } }, inputs_fields: parseJson(target.inputs, 'Inputs'), evaluation: null }
    : { evaluation: parseJson(target.evaluation, 'The evaluation'), references: null, inputs_fields: null };
}

export const targetReady = (target: TriggerTarget) => target.kind === 'evaluation' || Boolean(target.revision);

export function TriggerTargetFields({
  value,
  onChange,
  inputsLabel,
}: {
  value: TriggerTarget;
  onChange: (value: TriggerTarget) => void;
  inputsLabel: string;
}) {
  const revisions = useApplicationRevisionChoices();
  return (
    <>
      <SegmentedControl
        value={value.kind}
        onChange={(kind) => onChange({ ...value, kind: kind as TriggerTarget['kind'] })}
        data={[
          { value: 'application', label: 'Run an application' },
          { value: 'evaluation', label: 'Start an evaluation' },
        ]}
      />
      {value.kind === 'application' ? (
        <>
          <Select
            label="Application revision"
            data={revisions.data ?? []}
            value={value.revision}
            onChange={(revision) => onChange({ ...value, revision })}
            searchable
            required
            placeholder={revisions.isPending ? 'Loading…' : 'Choose a revision'}
          />
          <Text size="sm" fw={500}>
            {inputsLabel}
          </Text>
          <CodeEditor value={value.inputs} onChange={(inputs) => onChange({ ...value, inputs })} language="json" label={`${inputsLabel} (JSON)`} minHeight="80px" />
        </>
      ) : (
        <>
          <Text size="sm" fw={500}>
            Evaluation (the data of a new evaluation)
          </Text>
          <CodeEditor value={value.evaluation} onChange={(evaluation) => onChange({ ...value, evaluation })} language="json" label="Evaluation (JSON)" />
        </>
      )}
    </>
  );
}

/** The deliveries of one schedule or one event subscription, newest first. */
export function TriggerDeliveries({ filter, emptyDescription }: { filter: { schedule_id: string } | { subscription_id: string }; emptyDescription: string }) {
  const deliveries = useQuery({
    queryKey: ['trigger-deliveries', filter],
    queryFn: () => unwrap(api.POST('/api/triggers/deliveries/query', { body: { delivery: filter } })),
    refetchInterval: 10_000,
  });
  if (deliveries.isPending) return <Loading label="Loading deliveries" />;
  if (deliveries.isError) return <ErrorAlert error={deliveries.error} />;
  if (deliveries.data.deliveries.length === 0) return <EmptyState title="No deliveries yet" description={emptyDescription} />;
  return (
    <ScrollArea type="auto">
      <Table fz="sm" withTableBorder aria-label="Trigger deliveries">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Event</Table.Th>
            <Table.Th>Result</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {deliveries.data.deliveries.map((delivery) => (
            <Table.Tr key={delivery.id} data-testid="trigger-delivery-row">
              <Table.Td>{delivery.created_at ? new Date(delivery.created_at).toLocaleString() : ''}</Table.Td>
              <Table.Td>
                <Badge variant="light" color={delivery.status.code === 'success' || delivery.status.message === 'success' ? 'green' : delivery.status.message === 'failure' ? 'red' : 'gray'}>
                  {delivery.status.message ?? delivery.status.code}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace">
                  {String(delivery.data?.event_key ?? '')}
                </Text>
              </Table.Td>
              <Table.Td maw={480}>
                <Text size="xs" lineClamp={2}>
                  {JSON.stringify(delivery.data?.result ?? delivery.data?.error ?? delivery.data?.inputs ?? null)}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </ScrollArea>
  );
}
