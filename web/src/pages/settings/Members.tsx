import { Badge, Button, Card, Group, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import { EmptyState, ErrorAlert, Loading } from '../../components';
import { formatDate } from '../../components/registry/types';
import { ROLES } from './ApiKeys';
import { ConfirmButton } from './ConfirmButton';

type Role = components['schemas']['Role'];

function AddMemberForm({ workspaceId }: { workspaceId: string }) {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const add = useMutation({
    mutationFn: () =>
      unwrap(api.POST('/api/workspaces/{workspace_id}/members', { params: { path: { workspace_id: workspaceId } }, body: { email, role } })),
    onSuccess: (added) => {
      notifications.show({ color: 'green', message: `${added.member.email} added as ${added.member.role}` });
      setEmail('');
      void queryClient.invalidateQueries({ queryKey: ['members', workspaceId] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (email) add.mutate();
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <Group align="flex-end">
          <TextInput
            label="Invite by email"
            description="They join when they first sign in"
            type="email"
            required
            value={email}
            onChange={(event) => setEmail(event.currentTarget.value)}
            w={320}
          />
          <Select label="Role" data={ROLES} value={role} onChange={(value) => value && setRole(value as Role)} allowDeselect={false} w={140} />
          <Button type="submit" loading={add.isPending}>
            Add member
          </Button>
        </Group>
        {add.error && <ErrorAlert error={add.error} title="Could not add the member" />}
      </Stack>
    </form>
  );
}

/** The current project's workspace members: invite, change a role, remove. */
export function Members() {
  const queryClient = useQueryClient();
  const project = useQuery({ queryKey: ['project', 'current'], queryFn: () => unwrap(api.GET('/api/projects/current')) });
  const workspaceId = project.data?.project.workspace_id;
  const members = useQuery({
    queryKey: ['members', workspaceId],
    enabled: Boolean(workspaceId),
    queryFn: () => unwrap(api.GET('/api/workspaces/{workspace_id}/members', { params: { path: { workspace_id: workspaceId! } } })),
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['members', workspaceId] });
  const failed = (title: string) => (error: Error) => notifications.show({ color: 'red', title, message: error.message });
  const changeRole = useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: Role }) =>
      unwrap(
        api.PUT('/api/workspaces/{workspace_id}/members/{user_id}', {
          params: { path: { workspace_id: workspaceId!, user_id: userId } },
          body: { role },
        }),
      ),
    onSuccess: (changed) => {
      notifications.show({ color: 'green', message: `${changed.member.email} is now ${changed.member.role}` });
      refresh();
    },
    onError: failed('Could not change the role'),
  });
  const remove = useMutation({
    mutationFn: (userId: string) =>
      unwrap(
        api.DELETE('/api/workspaces/{workspace_id}/members/{user_id}', {
          params: { path: { workspace_id: workspaceId!, user_id: userId } },
        }),
      ),
    onSuccess: refresh,
    onError: failed('Could not remove the member'),
  });

  const error = project.error ?? members.error;
  if (error) return <ErrorAlert error={error} onRetry={() => void (project.error ? project.refetch() : members.refetch())} />;
  if (!workspaceId || members.isPending) return <Loading label="Loading members" />;
  const items = members.data?.members ?? [];
  return (
    <Stack>
      <AddMemberForm workspaceId={workspaceId} />
      {items.length === 0 ? (
        <EmptyState title="No members" />
      ) : (
        <Card withBorder padding={0}>
          <Table verticalSpacing="sm" data-testid="members">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Email</Table.Th>
                <Table.Th>Name</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Since</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((member) => (
                <Table.Tr key={member.user_id}>
                  <Table.Td>
                    <Group gap="xs">
                      <Text size="sm">{member.email}</Text>
                      {!member.joined && (
                        <Badge size="xs" variant="outline" color="gray">
                          invited
                        </Badge>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>{member.name ?? '—'}</Table.Td>
                  <Table.Td>
                    <Select
                      aria-label={`Role of ${member.email}`}
                      size="xs"
                      w={120}
                      data={ROLES}
                      value={member.role}
                      allowDeselect={false}
                      onChange={(role) => role && role !== member.role && changeRole.mutate({ userId: member.user_id, role: role as Role })}
                    />
                  </Table.Td>
                  <Table.Td>{formatDate(member.created_at)}</Table.Td>
                  <Table.Td ta="right">
                    <ConfirmButton
                      label="Remove"
                      ariaLabel={`Remove ${member.email}`}
                      title="Remove this member?"
                      loading={remove.isPending && remove.variables === member.user_id}
                      onConfirm={() => remove.mutate(member.user_id)}
                    >
                      {member.email} loses access to this workspace and its projects.
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
