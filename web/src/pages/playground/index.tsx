import { Route, Routes } from 'react-router-dom';
import { Playground } from './Playground';
import { PlaygroundPicker } from './PlaygroundPicker';

// /playground: choose an application; /playground/<application>/<revision or variant>: edit, run, commit.
export default function PlaygroundPage() {
  return (
    <Routes>
      <Route index element={<PlaygroundPicker />} />
      <Route path=":application" element={<Playground />} />
      <Route path=":application/:reference" element={<Playground />} />
    </Routes>
  );
}
