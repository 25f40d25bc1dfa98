// The registry's shapes as the API types them, shared by the Registry and Playground pages.
import type { components } from '../../api/schema';

export type Application = components['schemas']['ApplicationOut'];
export type Variant = components['schemas']['lamina__applications__responses__VariantOut'];
export type Revision = components['schemas']['lamina__applications__responses__RevisionOut'];
export type EnvironmentRevision = components['schemas']['EnvironmentRevisionOut'];

/** The environments every project has (API.md): deploy targets, in promotion order. */
export const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
export type EnvironmentSlug = (typeof ENVIRONMENTS)[number];

export function formatDate(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString() : '—';
}

/** A revision as people name it: v3 · "tighter system prompt". */
export function revisionLabel(revision: Pick<Revision, 'version' | 'message'>): string {
  return revision.message ? `v${revision.version} · ${revision.message}` : `v${revision.version}`;
}

/** Who did something, readably: a person's id as it is, an API key by the start of its id. */
export function formatActor(value: string | null | undefined): string {
  if (!value) return '—';
  return value.startsWith('api_key:') ? `API key ${value.slice('api_key:'.length, 'api_key:'.length + 8)}` : value;
}
