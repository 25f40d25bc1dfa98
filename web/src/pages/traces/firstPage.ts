// The list's first page, requested as early as the app can: the shell calls `startFirstPage` as its entry
// module runs, when the initial URL is the list (src/routes.tsx), in parallel with the traces chunk's download
// and React's first render. The list picks the answer up on mount. Kept tiny (the API client and the filters,
// no React): it is part of the initial bundle.

import { api, unwrap } from '../../api/client';
import { filtersFromParams, filtersToParams, spansQueryBody, type TraceFilters } from './filters';

export type SpansPage = Awaited<ReturnType<typeof fetchPage>>;

export function fetchPage(filters: TraceFilters, now: Date, cursor: string | null) {
  return unwrap(api.POST('/api/spans/query', { body: spansQueryBody(filters, now, cursor) }));
}

const EARLY_PAGE_MAX_AGE_MS = 10_000;
let earlyPage: { key: string; now: Date; response: Promise<SpansPage> } | null = null;

/** Start fetching the first page of the list `search` (a URL query) asks for; the list picks it up on mount. */
export function startFirstPage(search: string) {
  const filters = filtersFromParams(new URLSearchParams(search));
  const now = new Date();
  const response = fetchPage(filters, now, null);
  response.catch(() => undefined); // an error is the list's to show, if it mounts; never an unhandled rejection
  earlyPage = { key: filtersToParams(filters).toString(), now, response };
}

/** The early first page of the list whose URL query is `key`, if one is on its way and recent. */
export function earlyPageFor(key: string): { now: Date; response: Promise<SpansPage> } | null {
  const found = earlyPage;
  const fresh = found && found.key === key && Date.now() - found.now.getTime() < EARLY_PAGE_MAX_AGE_MS;
  return fresh ? found : null;
}

/** The list took it (or moved on): a later visit fetches afresh. */
export function forgetEarlyPage() {
  earlyPage = null;
}
