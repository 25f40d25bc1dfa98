import { useComputedColorScheme } from '@mantine/core';
import { json } from '@codemirror/lang-json';
import { markdown } from '@codemirror/lang-markdown';
import CodeMirror from '@uiw/react-codemirror';

export type CodeLanguage = 'json' | 'markdown' | 'text';

const EXTENSIONS = { json: [json()], markdown: [markdown()], text: [] };

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
