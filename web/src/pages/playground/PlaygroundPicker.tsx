import { Button, Card, SimpleGrid, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { applicationsQuery } from '../../components/registry/queries';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';

/** Which application to open in the playground. */
export function PlaygroundPicker() {
  const applications = useQuery(applicationsQuery);
  const items = applications.data?.applications ?? [];
  return (
    <>
      <PageHeader title="Playground" description="Edit a prompt, run it through /services and commit it as a revision." />
      {applications.isPending && <Loading label="Loading applications" />}
      {applications.error && <ErrorAlert error={applications.error} onRetry={() => void applications.refetch()} />}
      {applications.isSuccess && items.length === 0 && (
        <EmptyState
          title="No application to open"
          description="Create an application in the registry; it starts with a prompt on the mock model."
          action={
            <Button component={Link} to="/registry">
              Go to the registry
            </Button>
          }
        />
      )}
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
        {items.map((app) => (
          <Card key={app.id} withBorder component={Link} to={`/playground/${app.id}`} aria-label={`Open ${app.slug}`}>
            <Text fw={500}>{app.name || app.slug}</Text>
            <Text size="sm" c="dimmed" ff="monospace">
              {app.slug}
            </Text>
          </Card>
        ))}
      </SimpleGrid>
    </>
  );
}
