import { PageHeader, EmptyState } from '../../components';

// Placeholder: the Registry page replaces this file (and may add nested routes under /registry/*).
export default function RegistryPage() {
  return (
    <>
      <PageHeader title="Registry" description="Applications, their variants and revisions; deploy to environments." />
      <EmptyState title="Coming soon" description="This page is not built yet." />
    </>
  );
}
