import { Tabs } from '@mantine/core';
import { Navigate, Route, Routes, useNavigate, useParams } from 'react-router-dom';
import { PageHeader } from '../../components';
import { ApiKeys } from './ApiKeys';
import { Members } from './Members';
import { ProviderKeys } from './ProviderKeys';

const TABS = [
  { value: 'api-keys', label: 'API keys', panel: <ApiKeys /> },
  { value: 'members', label: 'Members', panel: <Members /> },
  { value: 'provider-keys', label: 'Provider keys', panel: <ProviderKeys /> },
];

function SettingsTabs() {
  const { tab } = useParams();
  const navigate = useNavigate();
  const current = TABS.find((item) => item.value === tab);
  if (!current) return <Navigate to="/settings/api-keys" replace />;
  return (
    <Tabs value={current.value} onChange={(value) => value && navigate(`/settings/${value}`)} keepMounted={false}>
      <Tabs.List mb="md">
        {TABS.map((item) => (
          <Tabs.Tab key={item.value} value={item.value}>
            {item.label}
          </Tabs.Tab>
        ))}
      </Tabs.List>
      {TABS.map((item) => (
        <Tabs.Panel key={item.value} value={item.value}>
          {item.panel}
        </Tabs.Panel>
      ))}
    </Tabs>
  );
}

// /settings/api-keys, /settings/members, /settings/provider-keys (deep links; /settings opens the first).
export default function SettingsPage() {
  return (
    <>
      <PageHeader title="Settings" description="API keys, members and roles, and provider keys." />
      <Routes>
        <Route index element={<Navigate to="api-keys" replace />} />
        <Route path=":tab" element={<SettingsTabs />} />
      </Routes>
    </>
  );
}
