import { Badge, Button, Group, Stack, Table, Tabs, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { applicationRevisionsQuery } from '../../components/registry/queries';
import { EmptyState, ErrorAlert, Loading } from '../../components';
import {
  ENVIRONMENTS,
  formatActor,
  formatDate,
  type EnvironmentRevision,
  type EnvironmentSlug,
} from '../../components/registry/types';

const PAGE_SIZE = 20;

function RollbackButton({ deployment, label }: { deployment: EnvironmentRevision; label: string }) {
  const queryClient = useQueryClient();
  // Rolling back is deploying again what an earlier environment revision deployed: the history grows by one.
  const rollback = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/applications/revisions/deploy', {
          body: {
            environment_revision_ref: { id: deployment.id },
            environment_ref: { slug: deployment.environment_slug },
            message: `rollback to ${label}`,
          },
        }),
      ),
    onSuccess: () => {
      notifications.show({ color: 'green', message: `${deployment.environment_slug} rolled back to ${label}` });
      void queryClient.invalidateQueries({ queryKey: ['environment-log'] });
    },
    onError: (error) => notifications.show({ color: 'red', title: 'Rollback failed', message: error.message }),
  });
  return (
    <Button size="xs" variant="subtle" loading={rollback.isPending} onClick={() => rollback.mutate()}>
      Roll back
    </Button>
  );
}

function EnvironmentLog({
  applicationId,
  environment,
  labels,
}: {
  applicationId: string;
  environment: EnvironmentSlug;
  labels: Map<string, string>;
}) {
  const log = useInfiniteQuery({
    queryKey: ['environment-log', applicationId, environment],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.POST('/api/environments/revisions/log', {
          body: {
            environment_ref: { slug: environment },
            application_ref: { id: applicationId },
            windowing: { limit: PAGE_SIZE, order: 'descending', ...(pageParam ? { next: pageParam } : {}) },
          },
        }),
      ),
    getNextPageParam: (last) => last.windowing?.next ?? undefined,
  });
  if (log.isPending) return <Loading label={`Loading ${environment} history`} />;
  if (log.error) return <ErrorAlert error={log.error} onRetry={() => void log.refetch()} />;
  const deployments = log.data.pages.flatMap((page) => page.environment_revisions);
  if (deployments.length === 0) {
    return <EmptyState title={`Nothing deployed to ${environment}`} description="Deploy a revision from the log." />;
  }
  const live = deployments[0];
  return (
    <Stack gap="xs">
      <Table verticalSpacing={6} data-testid={`environment-history-${environment}`}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Deployed</Table.Th>
            <Table.Th>When</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {deployments.map((deployment) => {
            const label = labels.get(deployment.application_revision_id) ?? deployment.application_revision_id.slice(0, 8);
            return (
              <Table.Tr key={deployment.id}>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Badge variant="light" style={{ flexShrink: 0 }}>
                      {label}
                    </Badge>
                    {deployment.id === live.id && (
                      <Badge color="green" variant="filled" style={{ flexShrink: 0 }}>
                        live
                      </Badge>
                    )}
                    <Text size="xs" c="dimmed">
                      #{deployment.version}
                    </Text>
                  </Group>
                  {deployment.message && (
                    <Text size="xs" lineClamp={2} mt={2}>
                      {deployment.message}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="xs">{formatDate(deployment.created_at)}</Text>
                  <Text size="xs" c="dimmed" title={deployment.created_by ?? undefined}>
                    {formatActor(deployment.created_by)}
                  </Text>
                </Table.Td>
                <Table.Td ta="right">
                  {deployment.application_revision_id !== live.application_revision_id && (
                    <RollbackButton deployment={deployment} label={label} />
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {log.hasNextPage && (
        <Button variant="default" size="xs" loading={log.isFetchingNextPage} onClick={() => void log.fetchNextPage()}>
          Load older deployments
        </Button>
      )}
    </Stack>
  );
}

/** Per environment, the application's deployments newest first; an earlier one can be rolled back to. */
export function EnvironmentHistory({ applicationId }: { applicationId: string }) {
  const [searchParams, setSearchParams] = useSearchParams();
  const chosen = searchParams.get('env');
  const environment: EnvironmentSlug = ENVIRONMENTS.find((slug) => slug === chosen) ?? 'production';
  // Every revision of the application (any variant), to name what each deployment serves.
  const revisions = useQuery(applicationRevisionsQuery(applicationId));
  const labels = new Map((revisions.data?.application_revisions ?? []).map((r) => [r.id, `v${r.version}`]));
  return (
    <Tabs
      value={environment}
      onChange={(value) => {
        if (!value) return;
        const next = new URLSearchParams(searchParams);
        next.set('env', value);
        setSearchParams(next, { replace: true });
      }}
      keepMounted={false}
    >
      <Tabs.List mb="sm">
        {ENVIRONMENTS.map((slug) => (
          <Tabs.Tab key={slug} value={slug}>
            {slug}
          </Tabs.Tab>
        ))}
      </Tabs.List>
      {ENVIRONMENTS.map((slug) => (
        <Tabs.Panel key={slug} value={slug}>
          <EnvironmentLog applicationId={applicationId} environment={slug} labels={labels} />
        </Tabs.Panel>
      ))}
    </Tabs>
  );
}
