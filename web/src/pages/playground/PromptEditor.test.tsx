import { MantineProvider } from '@mantine/core';
import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { STARTER_PROMPT, templateVariables, type Prompt } from '../../components/registry/prompt';
import { PromptEditor, VariablesForm } from './PromptEditor';

// The playground's editor as it is wired there: the variables form shows one input per variable in use.
function Editor({ onPrompt }: { onPrompt?: (prompt: Prompt) => void }) {
  const [prompt, setPrompt] = useState<Prompt>(STARTER_PROMPT);
  const [values, setValues] = useState<Record<string, string>>({});
  return (
    <MantineProvider env="test">
      <PromptEditor
        prompt={prompt}
        onChange={(next) => {
          setPrompt(next);
          onPrompt?.(next);
        }}
      />
      <div data-testid="variables">
        <VariablesForm names={templateVariables(prompt.messages, prompt.template_format)} values={values} onChange={setValues} />
      </div>
    </MantineProvider>
  );
}

const variableNames = () =>
  within(screen.getByTestId('variables'))
    .queryAllByRole('textbox')
    .map((box) => box.closest('.mantine-InputWrapper-root')?.querySelector('label')?.textContent);

// jsdom has no scrollIntoView; Mantine's combobox calls it on the selected option.
beforeAll(() => {
  Element.prototype.scrollIntoView = () => {};
});

describe('PromptEditor', () => {
  it('derives one input per variable from the messages, in first-use order, keeping typed values', async () => {
    render(<Editor />);
    // GIVEN the starter prompt: one variable
    expect(screen.getByRole('textbox', { name: 'question' })).toBeInTheDocument();
    // WHEN the user message uses two variables, one twice and one with a field path
    fireEvent.change(screen.getByRole('textbox', { name: 'Message 2 content' }), {
      target: { value: 'Weather in {{ city }} on {{day.name}}, then {{city}} again' },
    });
    // THEN the inputs follow: city, day (not "question", not "day.name")
    expect(variableNames()).toEqual(['city', 'day']);
    expect(within(screen.getByTestId('derived-variables')).getAllByText(/city|day/).map((node) => node.textContent)).toEqual([
      'city',
      'day',
    ]);
    // AND a value typed for a variable survives further edits of the prompt
    await userEvent.type(screen.getByRole('textbox', { name: 'city' }), 'Lyon');
    fireEvent.change(screen.getByRole('textbox', { name: 'Message 1 content' }), { target: { value: 'Be terse.' } });
    expect(screen.getByRole('textbox', { name: 'city' })).toHaveValue('Lyon');
  });

  it('re-derives the variables when the template format changes, and when a message is removed', async () => {
    const seen: Prompt[] = [];
    render(<Editor onPrompt={(prompt) => seen.push(prompt)} />);
    fireEvent.change(screen.getByRole('textbox', { name: 'Message 2 content' }), {
      target: { value: 'Hi {name}, {{literal}} braces stay' },
    });
    // curly: `{{literal}}` is the variable
    expect(screen.getByRole('textbox', { name: 'literal' })).toBeInTheDocument();
    // WHEN the format becomes fstring: `{name}` is, and `{{literal}}` is an escaped brace
    await userEvent.click(screen.getByRole('textbox', { name: 'Template format' }));
    await userEvent.click(screen.getByRole('option', { name: 'fstring' }));
    expect(seen[seen.length - 1].template_format).toBe('fstring');
    expect(screen.getByRole('textbox', { name: 'name' })).toBeInTheDocument();
    expect(screen.queryByRole('textbox', { name: 'literal' })).not.toBeInTheDocument();
    // WHEN the message with the variables is removed, none are left
    await userEvent.click(screen.getByRole('button', { name: 'Remove message 2' }));
    expect(seen[seen.length - 1].messages).toHaveLength(1);
    expect(screen.getByText('The prompt uses no variables.')).toBeInTheDocument();
    // AND the last message cannot be removed (a prompt needs one)
    expect(screen.getByRole('button', { name: 'Remove message 1' })).toBeDisabled();
  });

  it('finds jinja2 and mustache inputs, not names the template binds itself', () => {
    const jinja = [{ role: 'user', content: '{% for item in items %}{{ item.name | upper }} {{ "x" }}{% endfor %} {{ user.name }}{% if flag %}!{% endif %}' }];
    expect(templateVariables(jinja, 'jinja2')).toEqual(['items', 'user', 'flag']);
    const mustache = [{ role: 'user', content: '{{#people}}{{name}}{{/people}} {{title}} {{! note}}' }];
    expect(templateVariables(mustache, 'mustache')).toEqual(['people', 'title']);
  });
});
