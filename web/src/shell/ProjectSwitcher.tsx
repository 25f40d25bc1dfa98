import { Select } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import { session } from '../auth/session';
import { useSession } from '../auth/useSession';

/** The project every request acts in: chosen here, sent as X-Project-Id by the API client. */
export function ProjectSwitcher() {
  const { projectId } = useSession();
  const queryClient = useQueryClient();
  const projects = useQuery({
    queryKey: ['projects'],
    queryFn: () => unwrap(api.GET('/api/projects')),
  });
  const list = projects.data?.projects ?? [];
  const current = projectId ?? list.find((p) => p.is_current)?.id ?? null;
  return (
    <Select
      aria-label="Project"
      data-testid="project-switcher"
      w={240}
      size="sm"
      placeholder={projects.isError ? 'Projects unavailable' : 'Project'}
      data={list.map((p) => ({ value: p.id, label: p.name }))}
      value={current}
      allowDeselect={false}
      onChange={(value) => {
        if (!value || value === current) return;
        session.setProjectId(value);
        // Everything cached belongs to the previous project.
        void queryClient.resetQueries();
      }}
    />
  );
}
