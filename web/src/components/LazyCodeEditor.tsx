import { lazy, Suspense, type ComponentProps } from 'react';
import { Loading } from './Loading';

// CodeMirror is ~150 kB gzipped: it loads with the first page that shows an editor, not with the shell.
const CodeEditor = lazy(() => import('./CodeEditor'));

export function LazyCodeEditor(props: ComponentProps<typeof CodeEditor>) {
  return (
    <Suspense fallback={<Loading label="Loading editor" />}>
      <CodeEditor {...props} />
    </Suspense>
  );
}
