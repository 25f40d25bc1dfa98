import { Alert, Badge, Button, Card, Code, CopyButton, Group, Modal, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import { EmptyState, ErrorAlert, Loading } from '../../components';
import { formatDate } from '../../components/registry/types';
import { ConfirmButton } from './ConfirmButton';

type Role = components['schemas']['Role'];
type CreatedKey = components['schemas']['CreatedApiKey'];
export const ROLES: Role[] = ['owner', 'admin', 'editor', 'viewer'];

function CreateKeyModal({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (key: CreatedKey) => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role | null>(null);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/api/keys/', { body: { name: name || null, role } })),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: ['api-keys'] });
      setName('');
      setRole(null);
      onClose();
      onCreated(created.api_key);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New API key">
      <form onSubmit={submit}>
        <Stack>
          <TextInput label="Name" placeholder="ci, notebook…" data-autofocus value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Select
            label="Role"
            description="At most your own role; empty means yours"
            data={ROLES}
            value={role}
            onChange={(value) => setRole(value as Role | null)}
            clearable
          />
          {create.error && <ErrorAlert error={create.error} title="Could not create the key" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create key
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function CreatedKeyModal({ created, onClose }: { created: CreatedKey | null; onClose: () => void }) {
  return (
    <Modal opened={created !== null} onClose={onClose} title="Your new API key" size="lg" closeOnClickOutside={false}>
      {created && (
        <Stack>
          <Alert color="yellow" title="Shown once">
            Copy it now: Lamina keeps only its hash and cannot show it again.
          </Alert>
          <Code block data-testid="created-api-key" style={{ wordBreak: 'break-all', whiteSpace: 'pre-wrap' }}>
            {created.key}
          </Code>
          <Text size="xs" c="dimmed">
            Send it as <Code>Authorization: ApiKey {created.prefix}.…</Code>
          </Text>
          <Group justify="flex-end">
            <CopyButton value={created.key}>
              {({ copied, copy }) => (
                <Button variant="light" color={copied ? 'teal' : undefined} onClick={copy}>
                  {copied ? 'Copied' : 'Copy'}
                </Button>
              )}
            </CopyButton>
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}

/** The project's API keys (prefixes only), creating one (its secret shown once) and revoking one. */
export function ApiKeys() {
  const queryClient = useQueryClient();
  const [creating, { open, close }] = useDisclosure(false);
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => unwrap(api.GET('/api/keys/')) });
  const revoke = useMutation({
    mutationFn: (keyId: string) => unwrap(api.DELETE('/api/keys/{key_id}', { params: { path: { key_id: keyId } } })),
    onSuccess: (revoked) => {
      notifications.show({ color: 'green', message: `Key ${revoked.api_key.prefix} revoked` });
      void queryClient.invalidateQueries({ queryKey: ['api-keys'] });
    },
    onError: (error) => notifications.show({ color: 'red', title: 'Could not revoke the key', message: error.message }),
  });
  const items = keys.data?.api_keys ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          Keys act in this project with their role. Only their prefix is kept in clear.
        </Text>
        <Button onClick={open}>New API key</Button>
      </Group>
      <CreateKeyModal opened={creating} onClose={close} onCreated={setCreated} />
      <CreatedKeyModal created={created} onClose={() => setCreated(null)} />
      {keys.isPending && <Loading label="Loading API keys" />}
      {keys.error && <ErrorAlert error={keys.error} onRetry={() => void keys.refetch()} />}
      {keys.isSuccess && items.length === 0 && <EmptyState title="No API keys" description="Create one for the SDK or CI." />}
      {items.length > 0 && (
        <Card withBorder padding={0}>
          <Table verticalSpacing="sm" data-testid="api-keys">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Prefix</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Expires</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((key) => (
                <Table.Tr key={key.id}>
                  <Table.Td>{key.name ?? '—'}</Table.Td>
                  <Table.Td>
                    <Code>{key.prefix}</Code>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="light">{key.role}</Badge>
                  </Table.Td>
                  <Table.Td>{formatDate(key.created_at)}</Table.Td>
                  <Table.Td>{formatDate(key.last_used_at)}</Table.Td>
                  <Table.Td>{key.expires_at ? formatDate(key.expires_at) : 'never'}</Table.Td>
                  <Table.Td ta="right">
                    <ConfirmButton
                      label="Revoke"
                      ariaLabel={`Revoke ${key.prefix}`}
                      title="Revoke this key?"
                      loading={revoke.isPending && revoke.variables === key.id}
                      onConfirm={() => revoke.mutate(key.id)}
                    >
                      Requests with <Code>{key.prefix}</Code> are refused from now on. This cannot be undone.
                    </ConfirmButton>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      )}
    </Stack>
  );
}
