// Queries the Registry and Playground pages share (same keys, so one page's fetch serves the other).
import { api, unwrap } from '../../api/client';

export const applicationsQuery = {
  queryKey: ['applications'],
  queryFn: () =>
    unwrap(
      api.POST('/api/applications/query', {
        body: { include_archived: false, windowing: { limit: 200, order: 'descending' } },
      }),
    ),
};

/** Every revision of an application (any variant), newest first: names for deployments, compare choices. */
export const applicationRevisionsQuery = (applicationId: string) => ({
  queryKey: ['application-revisions', applicationId],
  queryFn: () =>
    unwrap(
      api.POST('/api/applications/revisions/query', {
        body: { application_ref: { id: applicationId }, windowing: { limit: 1000, order: 'descending' } },
      }),
    ),
});
