import {
  Alert,
  Anchor,
  Badge,
  Breadcrumbs,
  Button,
  Card,
  Grid,
  Group,
  Modal,
  Select,
  SimpleGrid,
  Spoiler,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDisclosure, useHotkeys } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { applicationRevisionsQuery } from '../../components/registry/queries';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';
import { DeployRevisionButton } from '../../components/registry/DeployRevisionButton';
import {
  messageTexts,
  promptOf,
  STARTER_PROMPT,
  templateVariables,
  withPrompt,
  type Prompt,
} from '../../components/registry/prompt';
import { revisionLabel, type Revision } from '../../components/registry/types';
import { LlmConfigEditor } from './LlmConfigEditor';
import { PromptEditor, VariablesForm } from './PromptEditor';
import { resolveRevision } from './resolve';
import { RunResult } from './RunResult';
import { runPrompt } from './run';

/** The prompt as it is sent and committed: input_keys are exactly the variables its messages use. */
function runnable(prompt: Prompt): Prompt {
  return { ...prompt, input_keys: templateVariables(prompt.messages, prompt.template_format) };
}

const inputsFor = (prompt: Prompt, values: Record<string, string>) =>
  Object.fromEntries(templateVariables(prompt.messages, prompt.template_format).map((name) => [name, values[name] ?? '']));

function CommitModal({
  opened,
  onClose,
  revision,
  prompt,
}: {
  opened: boolean;
  onClose: () => void;
  revision: Revision;
  prompt: Prompt;
}) {
  const [message, setMessage] = useState('');
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const commit = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/applications/revisions/commit', {
          body: {
            application_revision: {
              application_variant_id: revision.application_variant_id,
              message: message || null,
              data: withPrompt(revision.data, runnable(prompt)),
            },
          },
        }),
      ),
    onSuccess: (committed) => {
      void queryClient.invalidateQueries({ queryKey: ['revision-log'] });
      void queryClient.invalidateQueries({ queryKey: ['application-revisions'] });
      onClose();
      // The new revision becomes the playground's base; the banner it shows offers to deploy it.
      navigate(`/playground/${revision.application_id}/${committed.application_revision.id}`, {
        state: { committed: true },
      });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    commit.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title={`Commit a new revision of v${revision.version}'s variant`}>
      <form onSubmit={submit}>
        <Stack>
          <TextInput
            label="Message"
            placeholder="What changed, and why"
            data-autofocus
            value={message}
            onChange={(event) => setMessage(event.currentTarget.value)}
          />
          {commit.error && <ErrorAlert error={commit.error} title="Could not commit" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={commit.isPending}>
              Commit
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function ComparedPrompt({ prompt }: { prompt: Prompt }) {
  return (
    <Spoiler maxHeight={60} showLabel="Show prompt" hideLabel="Hide prompt">
      <Stack gap={2}>
        {prompt.messages.map((message, index) => (
          <Text key={index} size="xs" style={{ whiteSpace: 'pre-wrap' }}>
            <b>{message.role}:</b> {messageTexts(message).join(' ')}
          </Text>
        ))}
      </Stack>
    </Spoiler>
  );
}

function Workbench({ revision }: { revision: Revision }) {
  const location = useLocation();
  const [searchParams, setSearchParams] = useSearchParams();
  const base = useMemo(() => promptOf(revision.data) ?? STARTER_PROMPT, [revision.data]);
  const [draft, setDraft] = useState<Prompt>(base);
  const [values, setValues] = useState<Record<string, string>>({});
  const [committing, commitModal] = useDisclosure(false);
  // A revision without a prompt yet can commit the starter one as it is.
  const dirty = !promptOf(revision.data) || JSON.stringify(draft) !== JSON.stringify(base);

  const application = useQuery({
    queryKey: ['application', revision.application_id],
    queryFn: () =>
      unwrap(api.GET('/api/applications/{application_id}', { params: { path: { application_id: revision.application_id } } })),
  });
  const revisions = useQuery(applicationRevisionsQuery(revision.application_id));
  const compareId = searchParams.get('compare');
  const compared = revisions.data?.application_revisions.find((item) => item.id === compareId);
  const comparedPrompt = compared ? promptOf(compared.data) : null;

  const names = useMemo(() => {
    const own = templateVariables(draft.messages, draft.template_format);
    const theirs = comparedPrompt ? templateVariables(comparedPrompt.messages, comparedPrompt.template_format) : [];
    return [...new Set([...own, ...theirs])];
  }, [draft, comparedPrompt]);

  const runDraft = useMutation({ mutationFn: () => runPrompt(runnable(draft), inputsFor(draft, values)) });
  const runCompared = useMutation({
    mutationFn: (prompt: Prompt) => runPrompt(runnable(prompt), inputsFor(prompt, values)),
  });
  const running = runDraft.isPending || runCompared.isPending;
  const run = () => {
    if (running) return;
    runDraft.mutate();
    if (comparedPrompt) runCompared.mutate(comparedPrompt);
  };
  useHotkeys([['mod+Enter', run]], [], true);

  const app = application.data?.application;
  const compareOptions = (revisions.data?.application_revisions ?? [])
    .filter((item) => promptOf(item.data))
    .map((item) => ({ value: item.id, label: revisionLabel(item) }));

  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/playground" size="sm">
          Playground
        </Anchor>
        <Anchor component={Link} to={`/registry/${revision.application_id}`} size="sm">
          {app?.slug ?? '…'}
        </Anchor>
        <Text size="sm">v{revision.version}</Text>
      </Breadcrumbs>
      <PageHeader
        title="Playground"
        description={
          <>
            {app?.name || app?.slug} · editing from {revisionLabel(revision)}{' '}
            {dirty && (
              <Badge color="orange" variant="light" size="sm">
                unsaved changes
              </Badge>
            )}
          </>
        }
        actions={
          <>
            <Select
              aria-label="Compare with revision"
              placeholder="Compare with…"
              clearable
              data={compareOptions}
              value={compared ? compared.id : null}
              onChange={(value) => {
                const next = new URLSearchParams(searchParams);
                if (value) next.set('compare', value);
                else next.delete('compare');
                // Keep the history entry's state: the "committed" banner survives choosing a comparison.
                setSearchParams(next, { replace: true, state: location.state });
              }}
              w={220}
            />
            <Button variant="default" onClick={commitModal.open} disabled={!dirty}>
              Commit
            </Button>
            <Button onClick={run} loading={running}>
              Run
            </Button>
          </>
        }
      />
      {(location.state as { committed?: boolean } | null)?.committed && (
        <Alert color="green" mb="md" title={`Committed ${revisionLabel(revision)}`} data-testid="committed-banner">
          <Group gap="sm">
            <Text size="sm">Deploy it to an environment, or see its history in the registry.</Text>
            <DeployRevisionButton revision={revision} size="xs" variant="filled" />
            <Anchor component={Link} to={`/registry/${revision.application_id}`} size="sm">
              Registry
            </Anchor>
          </Group>
        </Alert>
      )}
      <CommitModal opened={committing} onClose={commitModal.close} revision={revision} prompt={draft} />
      <Grid gutter="md">
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <Stack>
            <Card withBorder>
              <Title order={4} mb="sm">
                Prompt
              </Title>
              <PromptEditor prompt={draft} onChange={setDraft} />
            </Card>
            <Card withBorder>
              <Title order={4} mb="sm">
                Model
              </Title>
              <LlmConfigEditor config={draft.llm_config} onChange={(llm_config) => setDraft({ ...draft, llm_config })} />
            </Card>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <Stack>
            <Card withBorder>
              <Title order={4} mb="sm">
                Variables
              </Title>
              <VariablesForm names={names} values={values} onChange={setValues} />
            </Card>
            <Card withBorder>
              <Title order={4} mb="sm">
                Output
              </Title>
              {comparedPrompt && compared ? (
                <SimpleGrid cols={2} spacing="sm" data-testid="compare-columns">
                  <Stack gap="xs">
                    <Text fw={500} size="sm">
                      This edit · {draft.llm_config.model}
                    </Text>
                    <RunResult pending={runDraft.isPending} error={runDraft.error} outcome={runDraft.data} />
                  </Stack>
                  <Stack gap="xs">
                    <Text fw={500} size="sm">
                      {revisionLabel(compared)} · {comparedPrompt.llm_config.model}
                    </Text>
                    <ComparedPrompt prompt={comparedPrompt} />
                    <RunResult pending={runCompared.isPending} error={runCompared.error} outcome={runCompared.data} />
                  </Stack>
                </SimpleGrid>
              ) : (
                <RunResult pending={runDraft.isPending} error={runDraft.error} outcome={runDraft.data} />
              )}
            </Card>
          </Stack>
        </Grid.Col>
      </Grid>
    </>
  );
}

/** /playground/<application>[/<revision or variant>]: the revision to start from, then the workbench. */
export function Playground() {
  const { application = '', reference } = useParams();
  const resolved = useQuery({
    queryKey: ['playground-revision', application, reference ?? null],
    queryFn: () => resolveRevision(application, reference),
  });
  if (resolved.isPending) return <Loading label="Loading the revision" />;
  if (resolved.error) {
    return (
      <>
        <PageHeader title="Playground" />
        <ErrorAlert error={resolved.error} title="Could not open this revision" onRetry={() => void resolved.refetch()} />
      </>
    );
  }
  const revision = resolved.data.application_revision;
  if (!revision) {
    return (
      <>
        <PageHeader title="Playground" />
        <EmptyState title="Nothing committed yet" description="This variant has no revision to start from." />
      </>
    );
  }
  // Keyed by revision: opening another revision (or committing one) starts a fresh draft from it.
  return <Workbench key={revision.id} revision={revision} />;
}
