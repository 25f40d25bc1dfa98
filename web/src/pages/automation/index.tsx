import { Tabs } from '@mantine/core';
import { Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { PageHeader } from '../../components';
import { Schedules } from './Schedules';
import { Webhooks } from './Webhooks';

// /automation: webhook subscriptions and their delivery logs; /automation/schedules: trigger schedules.
export default function AutomationPage() {
  const location = useLocation();
  const navigate = useNavigate();
  const tab = location.pathname.replace(/\/+$/, '').endsWith('/schedules') ? 'schedules' : 'webhooks';
  return (
    <>
      <PageHeader title="Automation" description="Webhook subscriptions, their deliveries, and trigger schedules." />
      <Tabs value={tab} onChange={(value) => navigate(value === 'schedules' ? '/automation/schedules' : '/automation')} mb="md">
        <Tabs.List>
          <Tabs.Tab value="webhooks">Webhooks</Tabs.Tab>
          <Tabs.Tab value="schedules">Schedules</Tabs.Tab>
        </Tabs.List>
      </Tabs>
      <Routes>
        <Route index element={<Webhooks />} />
        <Route path="schedules" element={<Schedules />} />
      </Routes>
    </>
  );
}
