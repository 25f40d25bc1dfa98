// What a playground deep link names: /playground/<application>/<revision or variant>, each an id or a slug.
import { api, ApiError, unwrap } from '../../api/client';
import type { components } from '../../api/schema';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const referenceTo = (value: string) => (UUID.test(value) ? { id: value } : { slug: value });

type RetrieveBody = components['schemas']['lamina__applications__schemas__RevisionRetrieve'];

const retrieve = (body: RetrieveBody) => unwrap(api.POST('/api/applications/revisions/retrieve', { body }));

/** The revision to start from: the one named, else the named variant's latest, else the application's. */
export async function resolveRevision(application: string, reference?: string) {
  const applicationRef = referenceTo(application);
  if (!reference) return retrieve({ application_ref: applicationRef });
  try {
    const found = await retrieve({ application_revision_ref: referenceTo(reference) });
    if (found.application_revision) return found;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  return retrieve({ application_ref: applicationRef, application_variant_ref: referenceTo(reference) });
}
