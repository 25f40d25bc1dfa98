// Every page of the UI: its path, its nav label and its lazily loaded module (one chunk per area, so the
// initial bundle carries only the shell). A page helper replaces src/pages/<area>/index.tsx and adds nested
// routes inside it (<Routes> under the area's path), without touching this file.

import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import { startFirstPage } from './pages/traces/firstPage';

type PageModule = { default: ComponentType };

interface AreaDefinition {
  path: string;
  label: string;
  load: () => Promise<PageModule>;
  /** Requests the page makes first, started before its chunk arrives (the initial URL only). */
  prefetch?: (location: { pathname: string; search: string }) => void;
}

export interface AreaRoute {
  path: string;
  label: string;
  page: LazyExoticComponent<ComponentType>;
}

const DEFINITIONS: AreaDefinition[] = [
  { path: 'registry', label: 'Registry', load: () => import('./pages/registry') },
  { path: 'playground', label: 'Playground', load: () => import('./pages/playground') },
  {
    path: 'traces',
    label: 'Traces',
    load: () => import('./pages/traces'),
    // The list (not a trace, not the charts): its first page of spans is the page's critical request.
    prefetch: ({ pathname, search }) => {
      if (pathname.replace(/\/+$/, '') === '/traces') startFirstPage(search);
    },
  },
  { path: 'testsets', label: 'Test sets', load: () => import('./pages/testsets') },
  { path: 'evaluations', label: 'Evaluations', load: () => import('./pages/evaluations') },
  { path: 'automation', label: 'Automation', load: () => import('./pages/automation') },
  { path: 'settings', label: 'Settings', load: () => import('./pages/settings') },
];

// One import per area, shared by the preload and React.lazy, so a preloaded chunk is never fetched twice.
const loading = new Map<string, Promise<PageModule>>();
function loadArea(area: AreaDefinition): Promise<PageModule> {
  let pending = loading.get(area.path);
  if (!pending) {
    pending = area.load();
    loading.set(area.path, pending);
  }
  return pending;
}

export const AREAS: AreaRoute[] = DEFINITIONS.map((area) => ({
  path: area.path,
  label: area.label,
  page: lazy(() => loadArea(area)),
}));

/** The area a path belongs to (`/traces/abc` → traces), if any. */
function areaOf(pathname: string): AreaDefinition | undefined {
  const first = pathname.split('/').filter(Boolean)[0] ?? '';
  return DEFINITIONS.find((area) => area.path === first);
}

/**
 * Called once as the entry module runs, signed in: start downloading the initial URL's page chunk and its first
 * requests now, instead of after React has rendered the shell and suspended on the lazy page (a few hundred
 * milliseconds on a busy laptop). Credentials and project come from localStorage, so nothing is awaited.
 */
export function preloadInitialArea(location: { pathname: string; search: string }): void {
  const area = areaOf(location.pathname);
  if (!area) return;
  area.prefetch?.(location);
  loadArea(area).catch(() => undefined); // a failed chunk is React.lazy's to report, when it renders
}
