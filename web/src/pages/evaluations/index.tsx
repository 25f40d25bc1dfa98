import { Route, Routes } from 'react-router-dom';
import { CompareRuns } from './CompareRuns';
import { RunDetail } from './RunDetail';
import { RunList } from './RunList';

// /evaluations: runs, new run, new evaluator; /evaluations/<run id>: progress, metrics, results, annotation;
// /evaluations/compare?runs=a,b: runs side by side with metric deltas.
export default function EvaluationsPage() {
  return (
    <Routes>
      <Route index element={<RunList />} />
      <Route path="compare" element={<CompareRuns />} />
      <Route path=":runId" element={<RunDetail />} />
    </Routes>
  );
}
