/** Request and response schemas of the dashboard's API (src/dashboard/plugin.ts). */

const nullableNumber = { type: ['number', 'null'] } as const;
const open = { type: 'object', additionalProperties: true } as const;

export const snapshotSchema = {
  type: 'object',
  required: ['at', 'kafka', 'topics', 'stages', 'roles', 'targets', 'destinations', 'recent'],
  properties: {
    at: { type: 'number' },
    kafka: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' }, error: { type: ['string', 'null'] } } },
    topics: { type: 'object', additionalProperties: { type: 'object', properties: { perSecond: nullableNumber, end: { type: 'number' } } } },
    stages: {
      type: 'array',
      items: {
        type: 'object',
        properties: { stage: { type: 'string' }, role: { type: 'string' }, group: { type: 'string' }, state: { type: 'string' }, members: { type: 'integer' }, lag: { type: 'number' }, perSecond: nullableNumber, oldestWaitingS: { type: 'number' } },
      },
    },
    roles: { type: 'array', items: { type: 'object', properties: { role: { type: 'string' }, state: { type: 'string' }, downStages: { type: 'array', items: { type: 'string' } } } } },
    targets: { type: 'array', items: open },
    destinations: { type: 'array', items: open },
    recent: { type: 'array', items: open },
  },
} as const;

export const dlqQuery = {
  type: 'object',
  properties: {
    destination: { type: 'string', maxLength: 100 },
    reason: { type: 'string', maxLength: 200 },
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  },
} as const;

export const dlqItemSchema = {
  type: 'object',
  required: ['leadId', 'destination', 'reason', 'stage', 'deadAt'],
  properties: {
    leadId: { type: 'string' },
    destination: { type: ['string', 'null'] },
    reason: { type: 'string' },
    stage: { type: 'string' },
    deadAt: { type: 'string', format: 'date-time' },
    attempt: { type: ['integer', 'null'] },
    originalTopic: { type: 'string' },
  },
} as const;

export const replayBody = {
  type: 'object',
  required: ['filter'],
  properties: {
    filter: {
      type: 'object',
      properties: {
        destination: { type: 'string', maxLength: 100 },
        reason: { type: 'string', maxLength: 200 },
        since: { type: 'string', format: 'date-time' },
        until: { type: 'string', format: 'date-time' },
        leadIds: { type: 'array', maxItems: 1000, items: { type: 'string', format: 'uuid' } },
      },
    },
    edit: { type: 'object' },
    dryRun: { type: 'boolean' },
  },
} as const;

export const replayReportSchema = {
  type: 'object',
  required: ['total', 'replayed', 'skipped', 'failed', 'reasons', 'items'],
  properties: {
    total: { type: 'integer' },
    replayed: { type: 'integer' },
    skipped: { type: 'integer' },
    failed: { type: 'integer' },
    reasons: { type: 'object', additionalProperties: { type: 'integer' } },
    items: {
      type: 'array',
      items: { type: 'object', properties: { leadId: { type: 'string' }, destination: { type: ['string', 'null'] }, action: { type: 'string' }, why: { type: 'string' } } },
    },
  },
} as const;
