import { Button, Card, Center, PasswordInput, Stack, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ErrorAlert } from '../components/ErrorAlert';
import { signInWithPassword } from './cognito';
import { session } from './session';
import { authConfig } from './tokens';

/** Sign in with the Cognito user (email + password) or paste an API key once. */
export function SignIn() {
  const config = useQuery({ queryKey: ['auth-config'], queryFn: authConfig, staleTime: Infinity });
  const cognitoAvailable = Boolean(config.data?.user_pool_id && config.data?.client_id);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Email while the pool is known (or still loading), else the API key; a click chooses for good.
  const [chosenTab, setChosenTab] = useState<string | null>(null);
  const tab = chosenTab ?? (config.isError || (config.data && !cognitoAvailable) ? 'apikey' : 'password');

  async function submitPassword(event: FormEvent) {
    event.preventDefault();
    if (!config.data) return;
    setBusy(true);
    setError(null);
    try {
      session.setCredential(await signInWithPassword(config.data, email.trim(), password));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  async function submitApiKey(event: FormEvent) {
    event.preventDefault();
    const key = apiKey.trim().replace(/^ApiKey\s+/i, '');
    setBusy(true);
    setError(null);
    // Check the key before keeping it, so a typo is reported here rather than as a page of 401s.
    const response = await fetch('/api/projects/current', { headers: { Authorization: `ApiKey ${key}` } });
    setBusy(false);
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as { message?: string };
      setError(new Error(body.message ?? `The API answered ${response.status}`));
      return;
    }
    session.setCredential({ kind: 'apiKey', apiKey: key });
  }

  return (
    <Center mih="100vh" p="md">
      <Card withBorder shadow="sm" padding="xl" w={420}>
        <Stack>
          <Title order={2}>Sign in to Lamina</Title>
          {error !== null && <ErrorAlert error={error} title="Sign-in failed" />}
          <Tabs value={tab} onChange={setChosenTab} keepMounted={false}>
            <Tabs.List grow>
              <Tabs.Tab value="password" disabled={Boolean(config.data) && !cognitoAvailable}>
                Email
              </Tabs.Tab>
              <Tabs.Tab value="apikey">API key</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="password" pt="md">
              <form onSubmit={submitPassword}>
                <Stack>
                  <TextInput
                    label="Email"
                    type="email"
                    autoComplete="username"
                    required
                    value={email}
                    onChange={(e) => setEmail(e.currentTarget.value)}
                  />
                  <PasswordInput
                    label="Password"
                    autoComplete="current-password"
                    required
                    value={password}
                    onChange={(e) => setPassword(e.currentTarget.value)}
                  />
                  <Button type="submit" loading={busy} disabled={!config.data}>
                    Sign in
                  </Button>
                </Stack>
              </form>
            </Tabs.Panel>
            <Tabs.Panel value="apikey" pt="md">
              <form onSubmit={submitApiKey}>
                <Stack>
                  <TextInput
                    label="API key"
                    description="Authorization: ApiKey <prefix>.<secret> — `lamina up` prints the local one."
                    required
                    autoComplete="off"
                    value={apiKey}
                    onChange={(e) => setApiKey(e.currentTarget.value)}
                  />
                  <Button type="submit" loading={busy}>
                    Use API key
                  </Button>
                </Stack>
              </form>
            </Tabs.Panel>
          </Tabs>
          {config.isError && (
            <Text size="xs" c="dimmed">
              Email sign-in is unavailable: {(config.error as Error).message}
            </Text>
          )}
        </Stack>
      </Card>
    </Center>
  );
}
