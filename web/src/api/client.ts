// The typed API client: paths and bodies come from schema.d.ts (npm run gen:api), so a route change breaks
// `npm run build` instead of a page. Every request carries the session's credential and chosen project.

import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { freshCredential } from '../auth/tokens';
import { session } from '../auth/session';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The API's error body is {status, code, message, details}; API Gateway's own is {message}. */
export function apiError(status: number, body: unknown): ApiError {
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') {
    const { code, details } = body as { code?: string; details?: unknown };
    return new ApiError(status, body.message, code, details);
  }
  return new ApiError(status, typeof body === 'string' && body ? body : `Request failed (${status})`);
}

export function authorizationHeader(credential: NonNullable<ReturnType<typeof session.credential>>): string {
  return credential.kind === 'apiKey' ? `ApiKey ${credential.apiKey}` : `Bearer ${credential.accessToken}`;
}

const authMiddleware: Middleware = {
  async onRequest({ request }) {
    const credential = await freshCredential();
    if (credential) request.headers.set('Authorization', authorizationHeader(credential));
    const projectId = session.projectId();
    if (projectId && !request.headers.has('X-Project-Id')) request.headers.set('X-Project-Id', projectId);
    return request;
  },
  async onResponse({ response }) {
    // A revoked key or an expired refresh token: back to the sign-in page, not a page of errors.
    if (response.status === 401 && session.credential()) session.clear();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use(authMiddleware);

/** Unwrap an openapi-fetch result for TanStack Query: the data, or an ApiError with the API's message. */
export async function unwrap<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await pending;
  if (error !== undefined || !response.ok) throw apiError(response.status, error);
  return data as T;
}
