import { Tabs } from '@mantine/core';
import { Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { PageHeader } from '../../components';
import { Schedules } from './Schedules';
import { Triggers } from './Triggers';
import { Webhooks } from './Webhooks';

// /automation: webhook subscriptions and their delivery logs; /automation/triggers: event triggers;
// /automation/schedules: trigger schedules.
const TABS = { webhooks: '/automation', triggers: '/automation/triggers', schedules: '/automation/schedules' } as const;
type Tab = keyof typeof TABS;

export default function AutomationPage() {
  const location = useLocation();
  const navigate = useNavigate();
  const last = location.pathname.replace(/\/+$/, '').split('/').pop() ?? '';
  const tab: Tab = last === 'triggers' || last === 'schedules' ? last : 'webhooks';
  return (
    <>
      <PageHeader title="Automation" description="Webhook subscriptions and their deliveries, event triggers, and trigger schedules." />
      <Tabs value={tab} onChange={(value) => navigate(TABS[(value as Tab) ?? 'webhooks'])} mb="md">
        <Tabs.List>
          <Tabs.Tab value="webhooks">Webhooks</Tabs.Tab>
          <Tabs.Tab value="triggers">Event triggers</Tabs.Tab>
          <Tabs.Tab value="schedules">Schedules</Tabs.Tab>
        </Tabs.List>
      </Tabs>
      <Routes>
        <Route index element={<Webhooks />} />
        <Route path="triggers" element={<Triggers />} />
        <Route path="schedules" element={<Schedules />} />
      </Routes>
    </>
  );
}
