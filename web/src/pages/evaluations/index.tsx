import { PageHeader, EmptyState } from '../../components';

// Placeholder: the Evaluations page replaces this file (and may add nested routes under /evaluations/*).
export default function EvaluationsPage() {
  return (
    <>
      <PageHeader title="Evaluations" description="Run test sets through revisions and evaluators, and compare the results." />
      <EmptyState title="Coming soon" description="This page is not built yet." />
    </>
  );
}
