// The signed-in session, kept in localStorage so a reload (or a deep link in a new tab) stays signed in.
// One of two credentials: a Lamina API key (`Authorization: ApiKey <key>`) or Cognito tokens (Bearer).

export type Credential =
  | { kind: 'apiKey'; apiKey: string }
  | {
      kind: 'cognito';
      email: string;
      accessToken: string;
      refreshToken: string;
      /** epoch ms when the access token expires */
      expiresAt: number;
    };

const CREDENTIAL_KEY = 'lamina.credential';
const PROJECT_KEY = 'lamina.projectId';

type Listener = () => void;
const listeners = new Set<Listener>();

function read<T>(key: string): T | null {
  const raw = localStorage.getItem(key);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

export const session = {
  credential(): Credential | null {
    return read<Credential>(CREDENTIAL_KEY);
  },
  setCredential(credential: Credential): void {
    localStorage.setItem(CREDENTIAL_KEY, JSON.stringify(credential));
    listeners.forEach((l) => l());
  },
  /** The project the API acts in (sent as X-Project-Id); null = the credential's default project. */
  projectId(): string | null {
    return localStorage.getItem(PROJECT_KEY);
  },
  setProjectId(projectId: string | null): void {
    if (projectId) localStorage.setItem(PROJECT_KEY, projectId);
    else localStorage.removeItem(PROJECT_KEY);
    listeners.forEach((l) => l());
  },
  clear(): void {
    localStorage.removeItem(CREDENTIAL_KEY);
    localStorage.removeItem(PROJECT_KEY);
    listeners.forEach((l) => l());
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
