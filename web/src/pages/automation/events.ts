// The events Lamina emits (lamina/events/catalog.py), offered as suggestions; `x.*` and `*` match many.
export const EVENT_TYPES = [
  'environments.revisions.committed',
  'testsets.revisions.committed',
  'webhooks.subscriptions.tested',
  'evaluations.run.started',
  'evaluations.run.finished',
  'tracing.errors.threshold_exceeded',
  'secrets.secret.created',
  'secrets.secret.updated',
  'secrets.secret.deleted',
  'tenancy.project.created',
  'tenancy.member.added',
];
