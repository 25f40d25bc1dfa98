import { Alert, Button, Code, Stack, Text } from '@mantine/core';
import { ApiError } from '../api/client';

/** An error as the API explained it: its message (and code), with an optional retry. */
export function ErrorAlert({
  error,
  title = 'Something went wrong',
  onRetry,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : undefined;
  const status = error instanceof ApiError ? error.status : undefined;
  return (
    <Alert color="red" title={title} role="alert" variant="light">
      <Stack gap="xs">
        <Text size="sm">{message}</Text>
        {(code || status) && (
          <Text size="xs" c="dimmed">
            {status && <>HTTP {status} </>}
            {code && <Code>{code}</Code>}
          </Text>
        )}
        {onRetry && (
          <Button size="xs" variant="light" color="red" onClick={onRetry} w="fit-content">
            Retry
          </Button>
        )}
      </Stack>
    </Alert>
  );
}
