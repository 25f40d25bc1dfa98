import { PageHeader, EmptyState } from '../../components';

// Placeholder: the Automation page replaces this file (and may add nested routes under /automation/*).
export default function AutomationPage() {
  return (
    <>
      <PageHeader title="Automation" description="Webhook subscriptions, their deliveries, and trigger schedules." />
      <EmptyState title="Coming soon" description="This page is not built yet." />
    </>
  );
}
