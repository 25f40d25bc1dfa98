import { Anchor, Badge, Breadcrumbs, Button, Card, Grid, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';
import { DeployRevisionButton } from '../../components/registry/DeployRevisionButton';
import { formatActor, formatDate, revisionLabel, type Revision } from '../../components/registry/types';
import { EnvironmentHistory } from './EnvironmentHistory';
import { RevisionDiff } from './RevisionDiff';

function RevisionLog({
  applicationId,
  revisions,
}: {
  applicationId: string;
  revisions: Revision[];
}) {
  return (
    <Table verticalSpacing="xs" highlightOnHover data-testid="revision-log">
      <Table.Thead>
        <Table.Tr>
          <Table.Th w={60}>Version</Table.Th>
          <Table.Th>Message</Table.Th>
          <Table.Th>Author</Table.Th>
          <Table.Th>Date</Table.Th>
          <Table.Th />
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {revisions.map((revision) => (
          <Table.Tr key={revision.id}>
            <Table.Td>
              <Badge variant="light">v{revision.version}</Badge>
            </Table.Td>
            <Table.Td>{revision.message || <Text c="dimmed" size="sm">(no message)</Text>}</Table.Td>
            <Table.Td title={revision.created_by ?? undefined}>{formatActor(revision.created_by)}</Table.Td>
            <Table.Td>{formatDate(revision.created_at)}</Table.Td>
            <Table.Td>
              <Group gap={4} justify="flex-end" wrap="nowrap">
                <Button component={Link} to={`/playground/${applicationId}/${revision.id}`} size="xs" variant="subtle">
                  Open
                </Button>
                <DeployRevisionButton revision={revision} />
              </Group>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function DiffPanel({ revisions }: { revisions: Revision[] }) {
  const [searchParams, setSearchParams] = useSearchParams();
  // Default: the latest revision against the one before it. Both choices live in the URL (deep links).
  const afterId = searchParams.get('to') ?? revisions[0]?.id ?? null;
  const beforeId = searchParams.get('from') ?? revisions[1]?.id ?? revisions[0]?.id ?? null;
  const options = revisions.map((revision) => ({ value: revision.id, label: revisionLabel(revision) }));
  const before = revisions.find((revision) => revision.id === beforeId);
  const after = revisions.find((revision) => revision.id === afterId);
  const choose = (key: 'from' | 'to', value: string | null) => {
    const next = new URLSearchParams(searchParams);
    if (value) next.set(key, value);
    setSearchParams(next, { replace: true });
  };
  return (
    <Stack gap="sm">
      <Group grow>
        <Select label="From" data={options} value={beforeId} onChange={(value) => choose('from', value)} allowDeselect={false} />
        <Select label="To" data={options} value={afterId} onChange={(value) => choose('to', value)} allowDeselect={false} />
      </Group>
      {before && after && (
        <RevisionDiff
          before={before.data}
          after={after.data}
          beforeLabel={`v${before.version}`}
          afterLabel={`v${after.version}`}
        />
      )}
    </Stack>
  );
}

/** One application: its variants, the chosen variant's revision log, a diff of two revisions, environments. */
export function ApplicationDetail() {
  const { applicationId = '' } = useParams();
  const [searchParams, setSearchParams] = useSearchParams();
  const application = useQuery({
    queryKey: ['application', applicationId],
    queryFn: () => unwrap(api.GET('/api/applications/{application_id}', { params: { path: { application_id: applicationId } } })),
  });
  const variants = useQuery({
    queryKey: ['variants', applicationId],
    queryFn: () =>
      unwrap(api.POST('/api/applications/variants/query', { body: { application_ref: { id: applicationId }, include_archived: false } })),
  });
  const variantList = useMemo(() => variants.data?.application_variants ?? [], [variants.data]);
  const variantId = searchParams.get('variant') ?? variantList[0]?.id ?? null;
  const revisions = useQuery({
    queryKey: ['revision-log', variantId],
    enabled: Boolean(variantId),
    queryFn: () =>
      unwrap(
        api.POST('/api/applications/revisions/log', {
          body: { application_variant_ref: { id: variantId! }, depth: 200 },
        }),
      ),
  });
  const revisionList = revisions.data?.application_revisions ?? [];
  const latestId = revisionList[0]?.id;

  if (application.isPending) return <Loading label="Loading application" />;
  if (application.error) return <ErrorAlert error={application.error} onRetry={() => void application.refetch()} />;
  const app = application.data.application;
  const chooseVariant = (value: string | null) => {
    if (value) setSearchParams({ variant: value }, { replace: true });
  };

  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/registry" size="sm">
          Registry
        </Anchor>
        <Text size="sm">{app.slug}</Text>
      </Breadcrumbs>
      <PageHeader
        title={app.name || app.slug}
        description={
          <>
            <Text span ff="monospace" size="sm">
              {app.slug}
            </Text>{' '}
            · created {formatDate(app.created_at)} {app.created_by ? `by ${formatActor(app.created_by)}` : ''}
          </>
        }
        actions={
          <Button component={Link} to={`/playground/${app.id}${latestId ? `/${latestId}` : ''}`}>
            Open in playground
          </Button>
        }
      />
      {variants.error && <ErrorAlert error={variants.error} onRetry={() => void variants.refetch()} />}
      <Grid gutter="md">
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <Stack>
            <Card withBorder>
              <Group justify="space-between" mb="sm">
                <Title order={4}>Revisions</Title>
                <Select
                  aria-label="Variant"
                  leftSection={<Text size="xs" c="dimmed">variant</Text>}
                  leftSectionWidth={60}
                  w={260}
                  data={variantList.map((variant) => ({ value: variant.id, label: variant.name || variant.slug }))}
                  value={variantId}
                  onChange={chooseVariant}
                  allowDeselect={false}
                  placeholder={variants.isPending ? 'Loading variants' : 'No variant'}
                />
              </Group>
              {(variants.isPending || revisions.isPending) && variantId !== null && <Loading label="Loading revisions" />}
              {revisions.error && <ErrorAlert error={revisions.error} onRetry={() => void revisions.refetch()} />}
              {variants.isSuccess && variantList.length === 0 && (
                <EmptyState title="No variants" description="Commit a prompt from the playground to create one." />
              )}
              {revisions.isSuccess && revisionList.length === 0 && (
                <EmptyState title="Nothing committed yet" description="This variant has no revision." />
              )}
              {revisionList.length > 0 && <RevisionLog applicationId={app.id} revisions={revisionList} />}
            </Card>
            <Card withBorder>
              <Title order={4} mb="sm">
                Diff
              </Title>
              {revisionList.length > 0 ? (
                <DiffPanel revisions={revisionList} />
              ) : (
                <Text size="sm" c="dimmed">
                  Two revisions of this variant are needed for a diff.
                </Text>
              )}
            </Card>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <Card withBorder>
            <Title order={4} mb="sm">
              Environments
            </Title>
            <EnvironmentHistory applicationId={app.id} />
          </Card>
        </Grid.Col>
      </Grid>
    </>
  );
}
