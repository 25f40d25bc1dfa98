// The project's test sets, application revisions and evaluators, as the run form and the results need them.

import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { api, unwrap } from '../../api/client';

const MAX_LISTED = 200;
const page = { limit: MAX_LISTED, order: 'descending' as const };

export function useEvaluators() {
  return useQuery({
    queryKey: ['evaluators'],
    queryFn: () =>
      unwrap(api.POST('/api/simple/evaluators/query', { body: { include_archived: false, windowing: page } })),
  });
}

/** Evaluator revision id -> the evaluator's name (results name their step `evaluator.<revision id>`). */
export function useEvaluatorNames(): Record<string, string> {
  const evaluators = useEvaluators();
  return useMemo(
    () =>
      Object.fromEntries(
        (evaluators.data?.evaluators ?? [])
          .filter((evaluator) => evaluator.revision_id)
          .map((evaluator) => [evaluator.revision_id as string, evaluator.name || evaluator.slug]),
      ),
    [evaluators.data],
  );
}

export function useTestsetChoices() {
  return useQuery({
    queryKey: ['testsets'],
    queryFn: () =>
      unwrap(api.POST('/api/simple/testsets/query', { body: { include_archived: false, windowing: page } })),
    select: (answer) =>
      answer.testsets
        .filter((testset) => testset.revision_id)
        .map((testset) => ({
          value: testset.revision_id as string,
          label: `${testset.name || testset.slug} · v${testset.version}`,
        })),
  });
}

/** Every application revision, newest first, labelled "<application> v<n> · <message>". */
export function useApplicationRevisionChoices() {
  return useQuery({
    queryKey: ['evaluations', 'application-revisions'],
    queryFn: async () => {
      const [applications, revisions] = await Promise.all([
        unwrap(api.POST('/api/simple/applications/query', { body: { include_archived: false, windowing: page } })),
        unwrap(api.POST('/api/applications/revisions/query', { body: { windowing: page } })),
      ]);
      const names = Object.fromEntries(applications.applications.map((app) => [app.id, app.name || app.slug]));
      return revisions.application_revisions
        .filter((revision) => revision.application_id in names)
        .map((revision) => ({
          value: revision.id,
          label: `${names[revision.application_id]} v${revision.version}${revision.message ? ` · ${revision.message}` : ''}`,
        }));
    },
  });
}
