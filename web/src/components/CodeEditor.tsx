import { useComputedColorScheme } from '@mantine/core';
import { json } from '@codemirror/lang-json';
import { markdown } from '@codemirror/lang-markdown';
import CodeMirror, { EditorView } from '@uiw/react-codemirror';

export type CodeLanguage = 'json' | 'markdown' | 'text';

// The default gutter sets line numbers flush against the fold markers and the text ("1⌄{"): room on both
// sides of the numbers, a fixed-width fold column, a rule between gutter and text, and a gap before the text.
const GUTTER = EditorView.theme({
  '.cm-gutters': { borderRight: '1px solid var(--mantine-color-default-border)' },
  '.cm-lineNumbers .cm-gutterElement': { minWidth: '3ch', padding: '0 6px 0 10px' },
  '.cm-foldGutter .cm-gutterElement': { width: '14px', paddingRight: '4px', textAlign: 'center' },
  '.cm-line': { paddingLeft: '8px' },
});

const EXTENSIONS = { json: [json(), GUTTER], markdown: [markdown(), GUTTER], text: [GUTTER] };

/** CodeMirror for prompts (markdown) and JSON (inputs, llm_config). Import it lazily: see LazyCodeEditor. */
export default function CodeEditor({
  value,
  onChange,
  language = 'text',
  minHeight = '120px',
  readOnly = false,
  label,
}: {
  value: string;
  onChange?: (value: string) => void;
  language?: CodeLanguage;
  minHeight?: string;
  readOnly?: boolean;
  label?: string;
}) {
  const scheme = useComputedColorScheme('light');
  return (
    <CodeMirror
      value={value}
      onChange={onChange}
      extensions={EXTENSIONS[language]}
      theme={scheme}
      minHeight={minHeight}
      readOnly={readOnly}
      aria-label={label}
      basicSetup={{ foldGutter: language === 'json', highlightActiveLine: !readOnly }}
    />
  );
}
