import { PageHeader, EmptyState } from '../../components';

// Placeholder: the Test sets page replaces this file (and may add nested routes under /testsets/*).
export default function TestsetsPage() {
  return (
    <>
      <PageHeader title="Test sets" description="Upload, edit and download test sets." />
      <EmptyState title="Coming soon" description="This page is not built yet." />
    </>
  );
}
