import { Autocomplete, Grid, NumberInput, Stack, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import { CodeEditor } from '../../components';
import { MOCK_MODEL, type LlmConfig } from '../../components/registry/prompt';

// Suggestions only: any model litellm knows can be typed, and `mock/<anything>` runs with no provider key.
const MODEL_SUGGESTIONS = [MOCK_MODEL, 'gpt-4o-mini', 'gpt-4o', 'claude-3-5-haiku-latest', 'claude-3-5-sonnet-latest'];

const NUMBER_FIELDS: { key: keyof LlmConfig; label: string; min: number; max: number; step: number; integer?: boolean }[] = [
  { key: 'temperature', label: 'Temperature', min: 0, max: 2, step: 0.1 },
  { key: 'max_tokens', label: 'Max tokens', min: 1, max: 1_000_000, step: 1, integer: true },
  { key: 'top_p', label: 'Top p', min: 0, max: 1, step: 0.05 },
  { key: 'frequency_penalty', label: 'Frequency penalty', min: -2, max: 2, step: 0.1 },
  { key: 'presence_penalty', label: 'Presence penalty', min: -2, max: 2, step: 0.1 },
];

const pretty = (config: LlmConfig) => JSON.stringify(config, null, 2);

/** The JSON text as an llm_config, or the reason it is not one. */
export function parseLlmConfig(text: string): { config?: LlmConfig; error?: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { error: 'llm_config must be an object' };
    if (typeof (parsed as LlmConfig).model !== 'string') return { error: 'llm_config.model must be a string' };
    return { config: parsed as LlmConfig };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** `llm_config` as a form of its common fields, and all of it as raw JSON; each follows the other. */
export function LlmConfigEditor({ config, onChange }: { config: LlmConfig; onChange: (config: LlmConfig) => void }) {
  const [raw, setRaw] = useState(() => pretty(config));
  const [rawError, setRawError] = useState<string>();
  // A change from the form rewrites the JSON, unless the JSON already says the same (it is being typed).
  useEffect(() => {
    const { config: fromRaw } = parseLlmConfig(raw);
    if (!fromRaw || JSON.stringify(fromRaw) !== JSON.stringify(config)) {
      setRaw(pretty(config));
      setRawError(undefined);
    }
  }, [config]);
  const setField = (key: keyof LlmConfig, value: string | number) => {
    const next = { ...config };
    if (value === '' || value === undefined) delete next[key];
    else next[key] = value;
    onChange(next);
  };
  return (
    <Stack gap="sm">
      <Autocomplete
        label="Model"
        description="mock/echo needs no provider key"
        data={MODEL_SUGGESTIONS}
        value={config.model}
        onChange={(model) => onChange({ ...config, model })}
        required
      />
      <Grid gutter="xs">
        {NUMBER_FIELDS.map((field) => (
          <Grid.Col key={field.key} span={{ base: 6, md: 4 }}>
            <NumberInput
              label={field.label}
              min={field.min}
              max={field.max}
              step={field.step}
              allowDecimal={!field.integer}
              value={(config[field.key] as number | null | undefined) ?? ''}
              onChange={(value) => setField(field.key, value)}
            />
          </Grid.Col>
        ))}
      </Grid>
      <div>
        <Text size="sm" fw={500} mb={4}>
          llm_config (JSON)
        </Text>
        <CodeEditor
          label="llm_config JSON"
          language="json"
          minHeight="140px"
          value={raw}
          onChange={(text) => {
            setRaw(text);
            const parsed = parseLlmConfig(text);
            setRawError(parsed.error);
            if (parsed.config) onChange(parsed.config);
          }}
        />
        {rawError && (
          <Text size="xs" c="red" mt={4} role="status">
            {rawError}
          </Text>
        )}
      </div>
    </Stack>
  );
}
