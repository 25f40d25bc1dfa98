import { useSyncExternalStore } from 'react';
import { session } from './session';

/** The credential and chosen project, re-rendering when either changes (also across tabs? no: per tab). */
export function useSession() {
  const credential = useSyncExternalStore(session.subscribe, () => localStorage.getItem('lamina.credential'));
  const projectId = useSyncExternalStore(session.subscribe, session.projectId);
  return { signedIn: credential !== null, projectId };
}
