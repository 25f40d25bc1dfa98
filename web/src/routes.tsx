// Every page of the UI: its path, its nav label and its lazily loaded module (one chunk per area, so the
// initial bundle carries only the shell). A page helper replaces src/pages/<area>/index.tsx and adds nested
// routes inside it (<Routes> under the area's path), without touching this file.

import { lazy, type ComponentType, type LazyExoticComponent } from 'react';

export interface AreaRoute {
  path: string;
  label: string;
  page: LazyExoticComponent<ComponentType>;
}

export const AREAS: AreaRoute[] = [
  { path: 'registry', label: 'Registry', page: lazy(() => import('./pages/registry')) },
  { path: 'playground', label: 'Playground', page: lazy(() => import('./pages/playground')) },
  { path: 'traces', label: 'Traces', page: lazy(() => import('./pages/traces')) },
  { path: 'testsets', label: 'Test sets', page: lazy(() => import('./pages/testsets')) },
  { path: 'evaluations', label: 'Evaluations', page: lazy(() => import('./pages/evaluations')) },
  { path: 'automation', label: 'Automation', page: lazy(() => import('./pages/automation')) },
  { path: 'settings', label: 'Settings', page: lazy(() => import('./pages/settings')) },
];
