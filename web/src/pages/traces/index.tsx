import { PageHeader, EmptyState } from '../../components';

// Placeholder: the Traces page replaces this file (and may add nested routes under /traces/*).
export default function TracesPage() {
  return (
    <>
      <PageHeader title="Traces" description="Spans the applications sent, with filters, trees and charts." />
      <EmptyState title="Coming soon" description="This page is not built yet." />
    </>
  );
}
