import { ActionIcon, Badge, Button, Group, Paper, Select, Stack, Text, Textarea } from '@mantine/core';
import {
  MESSAGE_ROLES,
  TEMPLATE_FORMATS,
  templateVariables,
  type ContentPart,
  type Prompt,
  type PromptMessage,
  type TemplateFormat,
} from '../../components/registry/prompt';

const FORMAT_HINTS: Record<TemplateFormat, string> = {
  curly: '{{name}}',
  fstring: '{name}',
  jinja2: '{{ name }}, {% for %}',
  mustache: '{{name}}, {{#section}}',
};

function MessageContent({
  message,
  index,
  onChange,
}: {
  message: PromptMessage;
  index: number;
  onChange: (content: PromptMessage['content']) => void;
}) {
  // A content list (text and image parts) keeps its shape: each text part is edited on its own.
  if (Array.isArray(message.content)) {
    return (
      <Stack gap={4}>
        {message.content.map((part: ContentPart, partIndex) =>
          part.type === 'text' ? (
            <Textarea
              key={partIndex}
              aria-label={`Message ${index + 1} part ${partIndex + 1}`}
              autosize
              minRows={2}
              value={part.text ?? ''}
              onChange={(event) => {
                const parts = [...(message.content as ContentPart[])];
                parts[partIndex] = { ...part, text: event.currentTarget.value };
                onChange(parts);
              }}
            />
          ) : (
            <Text key={partIndex} size="xs" c="dimmed">
              [{part.type} part]
            </Text>
          ),
        )}
      </Stack>
    );
  }
  return (
    <Textarea
      aria-label={`Message ${index + 1} content`}
      autosize
      minRows={2}
      maxRows={16}
      value={message.content ?? ''}
      onChange={(event) => onChange(event.currentTarget.value)}
    />
  );
}

/** The prompt's messages (role + content) and its template format; shows the variables they use. */
export function PromptEditor({ prompt, onChange }: { prompt: Prompt; onChange: (prompt: Prompt) => void }) {
  const setMessages = (messages: PromptMessage[]) => onChange({ ...prompt, messages });
  const updateMessage = (index: number, patch: Partial<PromptMessage>) =>
    setMessages(prompt.messages.map((message, at) => (at === index ? { ...message, ...patch } : message)));
  const variables = templateVariables(prompt.messages, prompt.template_format);
  return (
    <Stack gap="sm">
      <Group align="flex-end" justify="space-between">
        <Select
          label="Template format"
          description={`Variables are written ${FORMAT_HINTS[prompt.template_format] ?? ''}`}
          data={[...TEMPLATE_FORMATS]}
          value={prompt.template_format}
          onChange={(value) => value && onChange({ ...prompt, template_format: value as TemplateFormat })}
          allowDeselect={false}
          w={240}
        />
        <Group gap={4} data-testid="derived-variables">
          <Text size="xs" c="dimmed">
            Variables:
          </Text>
          {variables.length === 0 ? (
            <Text size="xs" c="dimmed">
              none
            </Text>
          ) : (
            variables.map((name) => (
              <Badge key={name} variant="outline" tt="none">
                {name}
              </Badge>
            ))
          )}
        </Group>
      </Group>
      {prompt.messages.map((message, index) => (
        <Paper key={index} withBorder p="xs">
          <Group justify="space-between" mb={6}>
            <Select
              aria-label={`Message ${index + 1} role`}
              data={[...new Set([...MESSAGE_ROLES, message.role])]}
              value={message.role}
              onChange={(role) => role && updateMessage(index, { role })}
              allowDeselect={false}
              size="xs"
              w={140}
            />
            <ActionIcon
              variant="subtle"
              color="red"
              aria-label={`Remove message ${index + 1}`}
              disabled={prompt.messages.length === 1}
              onClick={() => setMessages(prompt.messages.filter((_, at) => at !== index))}
            >
              ✕
            </ActionIcon>
          </Group>
          <MessageContent message={message} index={index} onChange={(content) => updateMessage(index, { content })} />
        </Paper>
      ))}
      <Button
        variant="default"
        size="xs"
        w="fit-content"
        onClick={() => {
          const last = prompt.messages[prompt.messages.length - 1]?.role;
          setMessages([...prompt.messages, { role: last === 'user' ? 'assistant' : 'user', content: '' }]);
        }}
      >
        Add message
      </Button>
    </Stack>
  );
}

/** One input per variable the prompt uses; values are kept by name, so editing the prompt keeps them. */
export function VariablesForm({
  names,
  values,
  onChange,
}: {
  names: string[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
}) {
  if (names.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        The prompt uses no variables.
      </Text>
    );
  }
  return (
    <Stack gap="xs">
      {names.map((name) => (
        <Textarea
          key={name}
          label={name}
          autosize
          minRows={1}
          maxRows={8}
          value={values[name] ?? ''}
          onChange={(event) => onChange({ ...values, [name]: event.currentTarget.value })}
        />
      ))}
    </Stack>
  );
}
