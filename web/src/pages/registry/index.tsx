import { Route, Routes } from 'react-router-dom';
import { ApplicationDetail } from './ApplicationDetail';
import { ApplicationsList } from './ApplicationsList';

// /registry: the applications; /registry/<application id>: its variants, revisions, diffs and environments.
export default function RegistryPage() {
  return (
    <Routes>
      <Route index element={<ApplicationsList />} />
      <Route path=":applicationId" element={<ApplicationDetail />} />
    </Routes>
  );
}
