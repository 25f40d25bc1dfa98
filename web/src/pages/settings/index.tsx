import { PageHeader, EmptyState } from '../../components';

// Placeholder: the Settings page replaces this file (and may add nested routes under /settings/*).
export default function SettingsPage() {
  return (
    <>
      <PageHeader title="Settings" description="API keys, members and roles, and provider keys." />
      <EmptyState title="Coming soon" description="This page is not built yet." />
    </>
  );
}
