import { PageHeader, EmptyState } from '../../components';

// Placeholder: the Playground page replaces this file (and may add nested routes under /playground/*).
export default function PlaygroundPage() {
  return (
    <>
      <PageHeader title="Playground" description="Edit a prompt, run it through /services and commit it as a revision." />
      <EmptyState title="Coming soon" description="This page is not built yet." />
    </>
  );
}
