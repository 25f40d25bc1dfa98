export { PageHeader } from './PageHeader';
export { ErrorAlert } from './ErrorAlert';
export { EmptyState } from './EmptyState';
export { Loading } from './Loading';
export { LazyCodeEditor as CodeEditor } from './LazyCodeEditor';
