import { Button, Menu } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { ENVIRONMENTS, type EnvironmentSlug, type Revision } from './types';

/** Deploy one revision to an environment, chosen from a menu; the environment's history then shows it. */
export function DeployRevisionButton({
  revision,
  size = 'xs',
  variant = 'light',
}: {
  revision: Pick<Revision, 'id' | 'version'>;
  size?: 'xs' | 'sm';
  variant?: 'light' | 'filled' | 'default';
}) {
  const queryClient = useQueryClient();
  const deploy = useMutation({
    mutationFn: (environment: EnvironmentSlug) =>
      unwrap(
        api.POST('/api/applications/revisions/deploy', {
          body: { application_revision_ref: { id: revision.id }, environment_ref: { slug: environment } },
        }),
      ),
    onSuccess: (_, environment) => {
      notifications.show({ color: 'green', message: `v${revision.version} deployed to ${environment}` });
      void queryClient.invalidateQueries({ queryKey: ['environment-log'] });
    },
    onError: (error, environment) =>
      notifications.show({ color: 'red', title: `Deploy to ${environment} failed`, message: error.message }),
  });
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <Button size={size} variant={variant} loading={deploy.isPending} aria-label={`Deploy v${revision.version}`}>
          Deploy
        </Button>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>Deploy v{revision.version} to</Menu.Label>
        {ENVIRONMENTS.map((environment) => (
          <Menu.Item key={environment} onClick={() => deploy.mutate(environment)}>
            {environment}
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  );
}
