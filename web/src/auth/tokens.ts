// Keeps the Cognito access token fresh: refreshed a minute before it expires, once even when many requests
// ask at the same moment. API keys never expire here.

import { refresh, type AuthConfig } from './cognito';
import { session, type Credential } from './session';

const REFRESH_MARGIN_MS = 60_000;
let configPromise: Promise<AuthConfig> | null = null;
let refreshing: Promise<Credential | null> | null = null;

/** GET /api/auth/config, fetched once per page load (public: no credential needed). */
export function authConfig(): Promise<AuthConfig> {
  configPromise ??= fetch('/api/auth/config').then(async (response) => {
    if (!response.ok) {
      configPromise = null;
      throw new Error(`GET /api/auth/config answered ${response.status}`);
    }
    return (await response.json()) as AuthConfig;
  });
  return configPromise;
}

export async function freshCredential(): Promise<Credential | null> {
  const credential = session.credential();
  if (!credential || credential.kind === 'apiKey') return credential;
  if (credential.expiresAt - Date.now() > REFRESH_MARGIN_MS) return credential;
  refreshing ??= authConfig()
    .then((config) => refresh(config, credential))
    .then((renewed) => {
      session.setCredential(renewed);
      return renewed;
    })
    .catch(() => {
      session.clear();
      return null;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** Refresh in the background too, so an idle tab still holds a valid token when the user comes back. */
export function startRefreshTimer(): () => void {
  const timer = window.setInterval(() => {
    const credential = session.credential();
    if (credential?.kind === 'cognito') void freshCredential();
  }, 30_000);
  return () => window.clearInterval(timer);
}
