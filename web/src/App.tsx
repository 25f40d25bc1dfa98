import { useEffect } from 'react';
import { Navigate, Route, Routes } from 'react-router-dom';
import { SignIn } from './auth/SignIn';
import { startRefreshTimer } from './auth/tokens';
import { useSession } from './auth/useSession';
import { EmptyState } from './components/EmptyState';
import { AREAS } from './routes';
import { AppLayout } from './shell/AppLayout';

export function App() {
  const { signedIn } = useSession();
  useEffect(() => startRefreshTimer(), []);
  // Signed out, every path shows the sign-in form and keeps the URL, so a deep link opens after signing in.
  if (!signedIn) return <SignIn />;
  return (
    <Routes>
      <Route element={<AppLayout />}>
        <Route index element={<Navigate to="/registry" replace />} />
        {AREAS.map(({ path, page: Page }) => (
          <Route key={path} path={`${path}/*`} element={<Page />} />
        ))}
        <Route path="*" element={<EmptyState title="Page not found" description="No page lives at this address." />} />
      </Route>
    </Routes>
  );
}
