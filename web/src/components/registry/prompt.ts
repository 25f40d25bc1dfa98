// The prompt of a revision (`data.parameters.prompt`, see layers/core/lamina/applications/prompt.py) and the
// variables its messages use. The API derives and checks the same on commit; deriving them here lets the
// playground show one input per variable while the prompt is edited, before anything is saved.

export const TEMPLATE_FORMATS = ['curly', 'fstring', 'jinja2', 'mustache'] as const;
export type TemplateFormat = (typeof TEMPLATE_FORMATS)[number];
export const MESSAGE_ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;

export interface ContentPart {
  type: string;
  text?: string | null;
  [key: string]: unknown;
}

export interface PromptMessage {
  role: string;
  content?: string | ContentPart[] | null;
  [key: string]: unknown;
}

export interface LlmConfig {
  model: string;
  temperature?: number | null;
  max_tokens?: number | null;
  top_p?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  [key: string]: unknown;
}

export interface Prompt {
  messages: PromptMessage[];
  template_format: TemplateFormat;
  input_keys?: string[] | null;
  llm_config: LlmConfig;
  [key: string]: unknown;
}

/** The built-in provider that needs no key (layers/core/lamina/services/mock.py): it echoes the last user turn. */
export const MOCK_MODEL = 'mock/echo';

/** What a new application starts with, so it can be run in the playground straight away. */
export const STARTER_PROMPT: Prompt = {
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Answer briefly: {{question}}' },
  ],
  template_format: 'curly',
  input_keys: ['question'],
  llm_config: { model: MOCK_MODEL, temperature: 0.2, max_tokens: 256 },
};

/** The prompt held by a revision's data, or null when the revision has none (an empty first revision). */
export function promptOf(data: Record<string, unknown> | null | undefined): Prompt | null {
  const parameters = data?.parameters as Record<string, unknown> | undefined;
  const prompt = parameters?.prompt as Prompt | undefined;
  return prompt && Array.isArray(prompt.messages) && prompt.llm_config ? prompt : null;
}

/** Revision data with `parameters.prompt` replaced, every other key kept as it was. */
export function withPrompt(data: Record<string, unknown> | null | undefined, prompt: Prompt): Record<string, unknown> {
  const parameters = (data?.parameters as Record<string, unknown> | undefined) ?? {};
  return { ...(data ?? {}), parameters: { ...parameters, prompt } };
}

/** The texts of a message a template renders: a string content, or the text parts of a content list. */
export function messageTexts(message: PromptMessage): string[] {
  if (typeof message.content === 'string') return [message.content];
  if (Array.isArray(message.content)) return message.content.map((part) => part.text ?? '').filter(Boolean);
  return [];
}

// `user.name` and `items[0]` are the inputs `user` and `items`.
const rootName = (name: string) => name.split(/[.[]/, 1)[0].trim();

function curlyVariables(text: string): string[] {
  return [...text.matchAll(/\{\{\s*(.*?)\s*\}\}/g)].map((match) => rootName(match[1])).filter(Boolean);
}

function fstringVariables(text: string): string[] {
  const names: string[] = [];
  for (let index = 0; index < text.length; index += 1) {
    if (text[index] !== '{') continue;
    if (text[index + 1] === '{') {
      index += 1; // `{{` is a literal brace
      continue;
    }
    const end = text.indexOf('}', index);
    if (end < 0) break;
    const field = text.slice(index + 1, end).split(/[!:]/, 1)[0];
    if (field && !/^\d+$/.test(field)) names.push(rootName(field));
    index = end;
  }
  return names;
}

const JINJA_WORDS = new Set([
  'and', 'or', 'not', 'in', 'is', 'if', 'else', 'elif', 'for', 'endfor', 'endif', 'set', 'true', 'false',
  'none', 'True', 'False', 'None', 'loop', 'range', 'recursive', 'with', 'without', 'context',
]);

function jinja2Variables(text: string): string[] {
  // Names bound by the template itself ({% for x in ... %}, {% set y = ... %}) are not inputs.
  const bound = new Set<string>();
  for (const match of text.matchAll(/\{%-?\s*for\s+([\w\s,]+?)\s+in\s/g)) {
    match[1].split(',').forEach((name) => bound.add(name.trim()));
  }
  for (const match of text.matchAll(/\{%-?\s*set\s+(\w+)/g)) bound.add(match[1]);
  const names: string[] = [];
  for (const match of text.matchAll(/\{\{-?([\s\S]*?)-?\}\}|\{%-?([\s\S]*?)-?%\}/g)) {
    const expression = (match[1] ?? match[2] ?? '')
      .replace(/(["'])(?:\\.|(?!\1).)*\1/g, ' ') // string literals
      .replace(/\|\s*\w+/g, ' ') // filter names
      .replace(/^\s*(for\s+[\w\s,]+?\s+in|set\s+\w+\s*=)/, ' '); // the bound side of for/set
    for (const token of expression.matchAll(/(^|[^.\w])([A-Za-z_]\w*)/g)) {
      const name = token[2];
      if (!JINJA_WORDS.has(name) && !bound.has(name)) names.push(name);
    }
  }
  return names;
}

function mustacheVariables(text: string): string[] {
  // Names inside a section may be fields of its items: only top-level names and section names are inputs.
  const names: string[] = [];
  let depth = 0;
  for (const match of text.matchAll(/\{\{\{?\s*([#^/!>&]?)\s*(.*?)\s*\}?\}\}/g)) {
    const [, sigil, name] = match;
    if (sigil === '!' || sigil === '>' || !name) continue;
    if (sigil === '#' || sigil === '^') {
      if (depth === 0) names.push(rootName(name));
      depth += 1;
    } else if (sigil === '/') depth = Math.max(0, depth - 1);
    else if (depth === 0 && name !== '.') names.push(rootName(name));
  }
  return names;
}

const FINDERS: Record<TemplateFormat, (text: string) => string[]> = {
  curly: curlyVariables,
  fstring: fstringVariables,
  jinja2: jinja2Variables,
  mustache: mustacheVariables,
};

/** The input names the prompt's messages use, in first-use order, without duplicates. */
export function templateVariables(messages: PromptMessage[], format: TemplateFormat): string[] {
  const finder = FINDERS[format] ?? curlyVariables;
  const names = messages.flatMap((message) => messageTexts(message).flatMap(finder));
  return [...new Set(names)];
}
