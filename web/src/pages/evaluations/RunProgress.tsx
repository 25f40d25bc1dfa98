import { Group, Progress, Text, Tooltip } from '@mantine/core';
import type { Run } from './model';

/** done (success), with errors, failed, cancelled, out of the run's scenarios. */
export function RunProgress({ run, size = 'md' }: { run: Run; size?: 'sm' | 'md' | 'lg' }) {
  const progress = run.progress ?? { total: 0, success: 0, errors: 0, failure: 0, cancelled: 0 };
  const total = progress.total || 1;
  const parts = [
    { key: 'success', count: progress.success ?? 0, color: 'green', label: 'done' },
    { key: 'errors', count: progress.errors ?? 0, color: 'orange', label: 'evaluator errors' },
    { key: 'failure', count: progress.failure ?? 0, color: 'red', label: 'failed' },
    { key: 'cancelled', count: progress.cancelled ?? 0, color: 'gray', label: 'cancelled' },
  ];
  const finished = parts.reduce((sum, part) => sum + part.count, 0);
  return (
    <Group gap="xs" wrap="nowrap" miw={180}>
      <Progress.Root size={size} style={{ flex: 1 }} aria-label="Run progress" role="progressbar" aria-valuenow={finished} aria-valuemax={progress.total}>
        {parts
          .filter((part) => part.count > 0)
          .map((part) => (
            <Tooltip key={part.key} label={`${part.count} ${part.label}`}>
              <Progress.Section value={(part.count / total) * 100} color={part.color} animated={run.status === 'running'} />
            </Tooltip>
          ))}
      </Progress.Root>
      <Text size="xs" c="dimmed" data-testid="run-progress-count">
        {finished}/{progress.total}
        {progress.failure ? ` · ${progress.failure} failed` : ''}
      </Text>
    </Group>
  );
}
