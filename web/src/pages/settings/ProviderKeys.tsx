import { Autocomplete, Button, Card, Code, Group, Modal, PasswordInput, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import { EmptyState, ErrorAlert, Loading } from '../../components';
import { formatDate } from '../../components/registry/types';
import { ConfirmButton } from './ConfirmButton';

const PROVIDERS = ['openai', 'anthropic', 'gemini', 'mistral', 'groq', 'together_ai', 'azure', 'bedrock'];

function AddProviderKeyModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [provider, setProvider] = useState('');
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/secrets/', {
          body: { secret: { name: name || `${provider}-key`, kind: 'provider_key', provider: provider || null, value } },
        }),
      ),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['secrets'] });
      setProvider('');
      setName('');
      setValue('');
      onClose();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value && (name || provider)) add.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title="Add a provider key">
      <form onSubmit={submit}>
        <Stack>
          <Autocomplete label="Provider" data={PROVIDERS} value={provider} onChange={setProvider} data-autofocus required />
          <TextInput label="Name" placeholder={provider ? `${provider}-key` : 'openai-key'} value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <PasswordInput label="Key" required value={value} onChange={(e) => setValue(e.currentTarget.value)} autoComplete="off" />
          {add.error && <ErrorAlert error={add.error} title="Could not add the key" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={add.isPending}>
              Add key
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** Provider keys and other secrets: write-only, listed masked. */
export function ProviderKeys() {
  const queryClient = useQueryClient();
  const [adding, { open, close }] = useDisclosure(false);
  const secrets = useQuery({ queryKey: ['secrets'], queryFn: () => unwrap(api.GET('/api/secrets/')) });
  const remove = useMutation({
    mutationFn: (secretId: string) => unwrap(api.DELETE('/api/secrets/{secret_id}', { params: { path: { secret_id: secretId } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['secrets'] }),
    onError: (error) => notifications.show({ color: 'red', title: 'Could not delete the key', message: error.message }),
  });
  const items = secrets.data?.secrets ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          The playground and evaluations call providers with these. Values are never shown again.
        </Text>
        <Button onClick={open}>Add provider key</Button>
      </Group>
      <AddProviderKeyModal opened={adding} onClose={close} />
      {secrets.isPending && <Loading label="Loading provider keys" />}
      {secrets.error && <ErrorAlert error={secrets.error} onRetry={() => void secrets.refetch()} />}
      {secrets.isSuccess && items.length === 0 && (
        <EmptyState title="No provider keys" description="The mock provider (model mock/echo) works without one." />
      )}
      {items.length > 0 && (
        <Card withBorder padding={0}>
          <Table verticalSpacing="sm" data-testid="provider-keys">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Provider</Table.Th>
                <Table.Th>Value</Table.Th>
                <Table.Th>Updated</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((secret) => (
                <Table.Tr key={secret.id}>
                  <Table.Td>{secret.name}</Table.Td>
                  <Table.Td>{secret.provider ?? secret.kind}</Table.Td>
                  <Table.Td>
                    <Code>{secret.value}</Code>
                  </Table.Td>
                  <Table.Td>{formatDate(secret.updated_at)}</Table.Td>
                  <Table.Td ta="right">
                    <ConfirmButton
                      label="Delete"
                      ariaLabel={`Delete ${secret.name}`}
                      title="Delete this key?"
                      loading={remove.isPending && remove.variables === secret.id}
                      onConfirm={() => remove.mutate(secret.id)}
                    >
                      Calls to {secret.provider ?? 'this provider'} fail without a key.
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
