import { Anchor, Button, Card, Group, Modal, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { applicationsQuery } from '../../components/registry/queries';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';
import { STARTER_PROMPT } from '../../components/registry/prompt';
import { formatActor, formatDate } from '../../components/registry/types';

const SLUG = /^[A-Za-z0-9][A-Za-z0-9_\-.]{0,199}$/;

function CreateApplicationModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const create = useMutation({
    // The simple form creates the application with its own variant and a first revision holding a starter
    // prompt on the mock model, so the new application runs in the playground at once.
    mutationFn: () =>
      unwrap(
        api.POST('/api/simple/applications/', {
          body: {
            application: {
              slug,
              name: name || null,
              data: { parameters: { prompt: STARTER_PROMPT } },
              message: 'initial prompt',
            },
          },
        }),
      ),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: ['applications'] });
      onClose();
      navigate(`/registry/${created.application.id}`);
    },
  });
  const slugError = slug && !SLUG.test(slug) ? 'Letters, digits, "_", "-" and "."; starting with a letter or digit' : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (slug && !slugError) create.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New application">
      <form onSubmit={submit}>
        <Stack>
          <TextInput
            label="Slug"
            description="Its key in code and in the SDK; unique in the project"
            required
            data-autofocus
            value={slug}
            onChange={(event) => setSlug(event.currentTarget.value)}
            error={slugError}
          />
          <TextInput label="Name" value={name} onChange={(event) => setName(event.currentTarget.value)} />
          {create.error && <ErrorAlert error={create.error} title="Could not create the application" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending} disabled={!slug || Boolean(slugError)}>
              Create
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** The project's applications, newest first, and the form that creates one. */
export function ApplicationsList() {
  const [creating, { open, close }] = useDisclosure(false);
  const applications = useQuery(applicationsQuery);
  const items = applications.data?.applications ?? [];
  return (
    <>
      <PageHeader
        title="Registry"
        description="Applications, their variants and revisions; deploy to environments."
        actions={<Button onClick={open}>New application</Button>}
      />
      <CreateApplicationModal opened={creating} onClose={close} />
      {applications.isPending && <Loading label="Loading applications" />}
      {applications.error && <ErrorAlert error={applications.error} onRetry={() => void applications.refetch()} />}
      {applications.isSuccess && items.length === 0 && (
        <EmptyState
          title="No applications yet"
          description="An application is a prompt with variants and revisions that you deploy to environments."
          action={<Button onClick={open}>Create the first application</Button>}
        />
      )}
      {items.length > 0 && (
        <Card withBorder padding={0}>
          <Table highlightOnHover verticalSpacing="sm">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Slug</Table.Th>
                <Table.Th>Created by</Table.Th>
                <Table.Th>Updated</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((app) => (
                <Table.Tr key={app.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/registry/${app.id}`} fw={500}>
                      {app.name || app.slug}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <Text ff="monospace" size="sm">
                      {app.slug}
                    </Text>
                  </Table.Td>
                  <Table.Td>{formatActor(app.created_by)}</Table.Td>
                  <Table.Td>{formatDate(app.updated_at ?? app.created_at)}</Table.Td>
                  <Table.Td ta="right">
                    <Button component={Link} to={`/playground/${app.id}`} size="xs" variant="subtle">
                      Playground
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      )}
    </>
  );
}
