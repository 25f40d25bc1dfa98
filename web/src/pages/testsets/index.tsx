import { Route, Routes } from 'react-router-dom';
import { TestsetDetail } from './TestsetDetail';
import { TestsetList } from './TestsetList';

// /testsets: the list and the upload form; /testsets/<id>: the grid, revisions and downloads.
export default function TestsetsPage() {
  return (
    <Routes>
      <Route index element={<TestsetList />} />
      <Route path=":testsetId" element={<TestsetDetail />} />
    </Routes>
  );
}
