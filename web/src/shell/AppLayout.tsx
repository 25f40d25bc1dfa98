import { ActionIcon, AppShell, Button, Group, NavLink, Title, Tooltip, useMantineColorScheme } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { Suspense } from 'react';
import { NavLink as RouterLink, Outlet, useLocation } from 'react-router-dom';
import { session } from '../auth/session';
import { Loading } from '../components/Loading';
import { AREAS } from '../routes';
import { ProjectSwitcher } from './ProjectSwitcher';

function ThemeToggle() {
  const { colorScheme, setColorScheme } = useMantineColorScheme();
  const dark = colorScheme === 'dark';
  const label = dark ? 'Switch to light theme' : 'Switch to dark theme';
  return (
    <Tooltip label={label}>
      <ActionIcon
        variant="default"
        size="lg"
        aria-label={label}
        data-testid="theme-toggle"
        onClick={() => setColorScheme(dark ? 'light' : 'dark')}
      >
        {dark ? '☀' : '☾'}
      </ActionIcon>
    </Tooltip>
  );
}

/** Header (project, theme, sign-out), the nav of areas, and the current page. */
export function AppLayout() {
  const location = useLocation();
  const queryClient = useQueryClient();
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 200, breakpoint: 'xs' }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Title order={3}>Lamina</Title>
          <Group gap="sm">
            <ProjectSwitcher />
            <ThemeToggle />
            <Button
              variant="default"
              onClick={() => {
                session.clear();
                queryClient.clear();
              }}
            >
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Main">
        {AREAS.map((area) => (
          <NavLink
            key={area.path}
            component={RouterLink}
            to={`/${area.path}`}
            label={area.label}
            active={location.pathname.startsWith(`/${area.path}`)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
