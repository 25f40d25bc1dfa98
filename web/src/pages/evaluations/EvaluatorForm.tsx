import {
  Button,
  Group,
  Modal,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import { CodeEditor, ErrorAlert, Loading } from '../../components';

interface PropertySchema {
  type?: string | string[];
  default?: unknown;
  description?: string;
  enum?: unknown[];
}

type Settings = Record<string, unknown>;

function defaults(properties: Record<string, PropertySchema>): Settings {
  return Object.fromEntries(
    Object.entries(properties)
      .filter(([, schema]) => schema.default !== undefined)
      .map(([name, schema]) => [name, schema.default]),
  );
}

function slugOf(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'evaluator'
  );
}

/** One input per setting of the kind's JSON schema: text, number, switch, choice; anything else as JSON. */
function SettingsFields({
  properties,
  required,
  settings,
  onChange,
}: {
  properties: Record<string, PropertySchema>;
  required: string[];
  settings: Settings;
  onChange: (settings: Settings) => void;
}) {
  const set = (name: string, value: unknown) => onChange({ ...settings, [name]: value });
  return (
    <Stack gap="xs">
      {Object.entries(properties).map(([name, schema]) => {
        const kind = Array.isArray(schema.type) ? schema.type[0] : schema.type;
        const common = { label: name, description: schema.description, withAsterisk: required.includes(name) };
        if (schema.enum)
          return (
            <Select
              key={name}
              {...common}
              data={schema.enum.map(String)}
              value={settings[name] === undefined ? null : String(settings[name])}
              onChange={(value) => set(name, value)}
            />
          );
        if (kind === 'boolean')
          return (
            <Switch
              key={name}
              label={name}
              description={schema.description}
              checked={Boolean(settings[name])}
              onChange={(event) => set(name, event.currentTarget.checked)}
            />
          );
        if (kind === 'number' || kind === 'integer')
          return (
            <NumberInput
              key={name}
              {...common}
              value={typeof settings[name] === 'number' ? (settings[name] as number) : ''}
              onChange={(value) => set(name, typeof value === 'number' ? value : undefined)}
            />
          );
        if (kind === 'string' || kind === undefined)
          return (
            <TextInput
              key={name}
              {...common}
              value={typeof settings[name] === 'string' ? (settings[name] as string) : ''}
              onChange={(event) => set(name, event.currentTarget.value)}
            />
          );
        return (
          <Text key={name} size="sm" c="dimmed">
            {name} ({kind}): edit it in the JSON view.
          </Text>
        );
      })}
    </Stack>
  );
}

/** Create an evaluator: a built-in kind, and its settings from the kind's JSON schema (a form, or JSON). */
export function EvaluatorForm({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const catalog = useQuery({
    queryKey: ['evaluator-catalog'],
    queryFn: () => unwrap(api.GET('/api/simple/evaluators/templates')),
    enabled: opened,
    staleTime: Infinity,
  });
  const [key, setKey] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [settings, setSettings] = useState<Settings>({});
  const [mode, setMode] = useState<'form' | 'json'>('form');
  const [json, setJson] = useState('{}');
  const [jsonError, setJsonError] = useState<string | null>(null);
  const kind = catalog.data?.templates.find((template) => template.key === key);
  const schema = (kind?.data.schemas.parameters ?? {}) as { properties?: Record<string, PropertySchema>; required?: string[] };
  const properties = schema.properties ?? {};
  const client = useQueryClient();

  const choose = (next: string | null) => {
    setKey(next);
    const template = catalog.data?.templates.find((t) => t.key === next);
    const props = ((template?.data.schemas.parameters ?? {}) as { properties?: Record<string, PropertySchema> }).properties ?? {};
    const initial = defaults(props);
    setSettings(initial);
    setJson(JSON.stringify(initial, null, 2));
    if (template && !name) setName(template.name);
  };
  const switchMode = (next: string) => {
    if (next === 'json') setJson(JSON.stringify(settings, null, 2));
    else {
      try {
        setSettings(JSON.parse(json) as Settings);
        setJsonError(null);
      } catch (error) {
        setJsonError((error as Error).message);
        return;
      }
    }
    setMode(next as 'form' | 'json');
  };
  const create = useMutation({
    mutationFn: (parameters: Settings) =>
      unwrap(
        api.POST('/api/simple/evaluators/', {
          body: {
            evaluator: {
              slug: `${slugOf(name)}-${Math.random().toString(16).slice(2, 8)}`,
              name: name.trim() || kind?.name,
              data: { uri: kind?.uri, parameters },
            },
          },
        }),
      ),
    onSuccess: (answer) => {
      client.invalidateQueries({ queryKey: ['evaluators'] });
      notifications.show({ color: 'green', message: `Created the evaluator ${answer.evaluator.name}` });
      setKey(null);
      setName('');
      onClose();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    let parameters = settings;
    if (mode === 'json') {
      try {
        parameters = JSON.parse(json) as Settings;
      } catch (error) {
        setJsonError((error as Error).message);
        return;
      }
    }
    create.mutate(parameters);
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New evaluator" size="lg">
      {catalog.isPending ? (
        <Loading label="Loading evaluator kinds" />
      ) : catalog.isError ? (
        <ErrorAlert error={catalog.error} />
      ) : (
        <Stack component="form" onSubmit={submit} gap="sm">
          <Select
            label="Kind"
            placeholder="Choose a built-in kind"
            searchable
            data={catalog.data.templates.map((template) => ({ value: template.key, label: template.name }))}
            value={key}
            onChange={choose}
            data-autofocus
          />
          {kind && (
            <>
              <Text size="sm" c="dimmed">
                {kind.description}
              </Text>
              <TextInput label="Name" value={name} onChange={(event) => setName(event.currentTarget.value)} required />
              <Group justify="space-between">
                <Text size="sm" fw={500}>
                  Settings
                </Text>
                <SegmentedControl
                  size="xs"
                  value={mode}
                  onChange={switchMode}
                  data={[
                    { value: 'form', label: 'Form' },
                    { value: 'json', label: 'JSON' },
                  ]}
                />
              </Group>
              {mode === 'form' ? (
                Object.keys(properties).length ? (
                  <SettingsFields
                    properties={properties}
                    required={schema.required ?? []}
                    settings={settings}
                    onChange={setSettings}
                  />
                ) : (
                  <Text size="sm" c="dimmed">
                    This kind has no settings.
                  </Text>
                )
              ) : (
                <CodeEditor value={json} onChange={setJson} language="json" label="Settings (JSON)" />
              )}
              {jsonError && <ErrorAlert error={`The settings are not valid JSON: ${jsonError}`} />}
              {create.isError && <ErrorAlert error={create.error} title="The evaluator was not created" />}
              <Group justify="flex-end">
                <Button type="submit" loading={create.isPending}>
                  Create evaluator
                </Button>
              </Group>
            </>
          )}
        </Stack>
      )}
    </Modal>
  );
}
