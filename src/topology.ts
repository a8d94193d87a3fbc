/**
 * The topology, declared once: every topic, every stage with its consumer group, inputs and
 * outputs. Roles, topic creation, `lead-router topology` and the README diagram all read it.
 * Built from config (SMS providers decide the per-provider topics) and validated on build,
 * like Kafka Streams' Topology: a stage reading a topic nobody declared fails here, not at run time.
 */
import type { Config } from './config.js';
import { topicFor } from './destination.js';

export type Role = 'ingest' | 'enrich' | 'route' | 'sink-primary' | 'sink-sms' | 'sink-search' | 'sink-backup' | 'sink-history';
export const ROLES: readonly Role[] = ['ingest', 'enrich', 'route', 'sink-primary', 'sink-sms', 'sink-search', 'sink-backup', 'sink-history'];

/**
 * What a stage does, which decides the code that runs it (src/stages/registry.ts):
 *   ingest   HTTP → leads.raw                   deliver  one destination's topic → its Sink
 *   enrich   leads.raw → leads.enriched         release  held texts → their provider's topic when due
 *   route    leads.enriched → destinations      backup   failed deliveries → their retry topic when due
 *   history  leads.events → the history store
 * Every deliver stage has a retry twin (`<stage>.retry`) in the same role: same destination and
 * Sink, its own retry topic and consumer group, at most RETRY_PER_SECOND leads a second. Retries
 * and operators' replays never queue in front of a fresh lead on its partition, and a retry storm
 * (a buyer back after an hour) cannot take a destination's whole capacity from first deliveries.
 */
export type StageKind = 'ingest' | 'enrich' | 'route' | 'enrich-route' | 'deliver' | 'release' | 'backup' | 'history';

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Topic-level configs set at creation. */
  configs: Record<string, string>;
  /** What a record on it is, for humans. */
  carries: string;
}

export interface StageSpec {
  /** Unique name; one consumer group per stage. */
  name: string;
  role: Role;
  kind: StageKind;
  /** For deliver stages: the destination kind and name ("sms", "twilio"); search and primary serve every buyer / the index. */
  destination?: { kind: 'primary' | 'sms' | 'search'; name: string | null };
  /** Consumer group, or null for ingest (it only produces). */
  group: string | null;
  inputs: string[];
  outputs: string[];
  /** Topics read whole by every process, outside any group (the opt-out list). */
  tables: string[];
  /** Deliver stages: the retry twin, which reads the destination's retry topic under the retry quota. */
  retry?: true;
  description: string;
}

/** Per destination topics: first deliveries (route's output) or retries (backup's and replays'). */
export interface DestinationTopics {
  primary: string;
  search: string;
  sms: Record<string, string>;
}

export interface Topology {
  topics: Record<TopicKey, string> & { sms: Record<string, string>; retry: DestinationTopics };
  allTopics: TopicSpec[];
  stages: StageSpec[];
}

export type TopicKey = 'raw' | 'enriched' | 'primary' | 'search' | 'backup' | 'dlq' | 'poison' | 'rejected' | 'unsold' | 'optouts' | 'smsReplies' | 'smsDeferred' | 'events';

const DAY_MS = 86_400_000;

export function buildTopology(config: Pick<Config, 'env' | 'router'>): Topology {
  const { TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: partitions, TOPIC_REPLICATION_FACTOR: rf } = config.env;
  const t = (name: string): string => `${prefix}${name}`;
  const topics = {
    raw: t('leads.raw'),
    enriched: t('leads.enriched'),
    primary: t('leads.primary'),
    search: t('leads.search'),
    backup: t('leads.backup'),
    dlq: t('leads.dlq'),
    poison: t('leads.dlq.poison'),
    rejected: t('leads.rejected'),
    unsold: t('leads.unsold'),
    optouts: t('leads.optouts'),
    smsReplies: t('leads.sms.replies'),
    smsDeferred: t('leads.sms.deferred'),
    events: t('leads.events'),
    sms: Object.fromEntries(Object.keys(config.router.sms.providers).map((p) => [p, t(`leads.sms.${p}`)])),
    retry: {
      primary: t('leads.retry.primary'),
      search: t('leads.retry.search'),
      sms: Object.fromEntries(Object.keys(config.router.sms.providers).map((p) => [p, t(`leads.retry.sms.${p}`)])),
    },
  };
  // min.insync.replicas only means something with more than one replica: 2 of 3 in production.
  const durability: Record<string, string> = rf >= 3 ? { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' } : {};
  // Tests shrink it to make a backlog exceed it quickly; production leaves the broker's default.
  if (config.env.TOPIC_MAX_MESSAGE_BYTES) durability['max.message.bytes'] = String(config.env.TOPIC_MAX_MESSAGE_BYTES);
  const spec = (name: string, carries: string, retentionDays = 7): TopicSpec => ({
    name,
    partitions,
    replicationFactor: rf,
    configs: { ...durability, 'retention.ms': String(retentionDays * DAY_MS) },
    carries,
  });
  // A list, not a log: compaction keeps the latest record per phone forever.
  const compacted = (name: string, carries: string): TopicSpec => ({
    name,
    partitions,
    replicationFactor: rf,
    configs: { ...durability, 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' },
    carries,
  });
  const smsTopics = Object.entries(topics.sms);
  const allTopics: TopicSpec[] = [
    spec(topics.raw, 'leads as accepted by ingest (key: leadId)'),
    spec(topics.enriched, 'leads with the enrichment section (key: leadId)'),
    spec(topics.primary, 'deliveries to a lead buyer webhook (key: leadId)'),
    ...smsTopics.map(([p, name]) => spec(name, `deliveries to SMS provider ${p} (key: phone E.164)`)),
    spec(topics.search, 'deliveries to the search index (key: leadId)'),
    spec(topics.retry.primary, 'buyer deliveries due again, and replays (key: leadId)', 14),
    ...Object.entries(topics.retry.sms).map(([p, name]) => spec(name, `texts through ${p} due again, and replays (key: phone E.164)`, 14)),
    spec(topics.retry.search, 'index deliveries due again, and replays (key: leadId)', 14),
    spec(topics.backup, 'failed deliveries with attempt, error and next-attempt time (key: leadId)', 14),
    spec(topics.dlq, 'deliveries that will not be retried, with the reason (key: leadId)', 30),
    spec(topics.poison, 'raw bytes that could not be decoded, with context headers', 30),
    spec(topics.rejected, 'leads the router refused to route (loop guard, no rule), with the reason', 30),
    spec(topics.unsold, 'leads no buyer took (closed, capped, filtered, rejected, no bid, gave up), with every reason in distribution: replay to redistribute', 30),
    compacted(topics.optouts, 'the global SMS opt-out list (key: phone E.164; OptOut records, latest wins)'),
    spec(topics.smsReplies, 'inbound SMS replies with their intent (key: phone E.164; SmsReply records)', 30),
    spec(topics.smsDeferred, 'texts held back by quiet hours until their window opens (key: phone E.164)', 14),
    spec(topics.events, 'what happened to each lead at each stage (key: leadId; HistoryEvent records, deterministic eventId)', 30),
  ];
  // Every consuming stage may dead-letter undecodable bytes and reports what it did as events.
  const common = [topics.events, topics.poison];
  const deliveryOutputs = [topics.backup, topics.dlq, ...common];
  const g = (name: string): string => `${prefix}${name}`;
  const smsNames = smsTopics.map(([, n]) => n);
  const retryTopics = [topics.retry.primary, ...Object.values(topics.retry.sms), topics.retry.search];
  const stages: StageSpec[] = [
    // leads.primary: a lead a buyer returned goes back to distribution (the group says when).
    { name: 'ingest', role: 'ingest', kind: 'ingest', group: null, inputs: [], outputs: [topics.raw, topics.events, topics.smsReplies, topics.optouts, topics.primary], tables: [], description: 'HTTP POST /v1/leads → validated, id assigned, acked by Kafka; SMS replies and receipts; lead returns' },
    { name: 'enrich', role: 'enrich', kind: 'enrich', group: g('enrich'), inputs: [topics.raw], outputs: [topics.enriched, topics.dlq, ...common], tables: [], description: 'email, phone E.164, timezone from ZIP, job title' },
    {
      name: 'route',
      role: 'route',
      kind: 'route',
      group: g('route'),
      inputs: [topics.enriched],
      outputs: [topics.primary, ...smsNames, topics.search, topics.rejected, topics.dlq, ...common],
      tables: [topics.optouts],
      description: 'rules by source, market, state, job, email, phone; loop guard; follows leads.optouts',
    },
    {
      name: 'sink-primary',
      role: 'sink-primary',
      kind: 'deliver',
      destination: { kind: 'primary', name: null },
      group: g('sink-primary'),
      inputs: [topics.primary],
      outputs: [...deliveryOutputs, topics.unsold],
      tables: [],
      description: 'distribute to the rule\'s buyers (schedule, caps, filters, method, bids); POST with the reply mapped; unsold leads to leads.unsold',
    },
    ...smsTopics.map(([p, name]): StageSpec => ({
      name: `sink-sms.${p}`,
      role: 'sink-sms',
      kind: 'deliver',
      destination: { kind: 'sms', name: p },
      group: g(`sink-sms.${p}`),
      inputs: [name],
      // fallback goes to the next provider's topic; quiet hours to the deferred topic
      outputs: [...deliveryOutputs, ...smsNames.filter((n) => n !== name), topics.smsDeferred],
      tables: [topics.optouts],
      description: `text through provider ${p}: opt-outs, dedup by phone, quiet hours, fallback`,
    })),
    {
      name: 'sink-sms.deferred',
      role: 'sink-sms',
      kind: 'release',
      group: g('sink-sms.deferred'),
      inputs: [topics.smsDeferred],
      outputs: [...smsNames, topics.smsDeferred, topics.dlq, ...common],
      tables: [],
      description: 'release texts to their provider topic when the quiet-hour window opens',
    },
    { name: 'sink-search', role: 'sink-search', kind: 'deliver', destination: { kind: 'search', name: null }, group: g('sink-search'), inputs: [topics.search], outputs: deliveryOutputs, tables: [], description: 'bulk index into Elasticsearch, _id = leadId' },
    {
      name: 'sink-backup',
      role: 'sink-backup',
      kind: 'backup',
      group: g('sink-backup'),
      inputs: [topics.backup],
      outputs: [...retryTopics, topics.backup, topics.dlq, ...common],
      tables: [],
      description: 'when a failed delivery is due again, onto its destination\'s retry topic (the sink\'s retry stage tries it); then DLQ',
    },
    { name: 'sink-history', role: 'sink-history', kind: 'history', group: g('sink-history'), inputs: [topics.events], outputs: [topics.poison], tables: [], description: 'write every event to the history store in bulk, commit after the write' },
  ];
  addRetryStages(stages, topics.retry, g);
  if (config.env.ENRICH_AND_ROUTE_TOGETHER) fuseEnrichAndRoute(stages);
  validate(allTopics, stages);
  return { topics, allTopics, stages };
}

/** Each deliver stage's retry twin, right after it: same role, destination and outputs. */
function addRetryStages(stages: StageSpec[], retry: DestinationTopics, group: (name: string) => string): void {
  for (const s of stages.filter((x) => x.kind === 'deliver' && x.destination)) {
    const input = topicFor(s.destination!, retry);
    if (!input) continue;
    stages.splice(stages.indexOf(s) + 1, 0, {
      ...s,
      name: `${s.name}.retry`,
      group: group(`${s.name}.retry`),
      inputs: [input],
      retry: true,
      description: `retries and replays for ${s.name}, in a group of their own under the retry quota`,
    });
  }
}

/**
 * One consumer that enriches and routes (ENRICH_AND_ROUTE_TOGETHER): one Kafka hop less per lead.
 * It still writes leads.enriched (data teams read it), and it keeps the enrich stage's group, so
 * switching it on or off picks up where the other left off on leads.raw. The route stage, with
 * nothing to read, is not run (leads.enriched is then only written).
 */
function fuseEnrichAndRoute(stages: StageSpec[]): void {
  const enrich = stages.findIndex((s) => s.kind === 'enrich');
  const route = stages.find((s) => s.kind === 'route');
  if (enrich < 0 || !route) return;
  const e = stages[enrich]!;
  stages.splice(stages.indexOf(route), 1);
  stages[stages.indexOf(e)] = {
    ...e,
    name: 'enrich-route',
    kind: 'enrich-route',
    outputs: [...new Set([...e.outputs, ...route.outputs])],
    tables: route.tables,
    description: `${e.description}; then ${route.description} (one consumer, one hop less)`,
  };
}

function validate(topics: TopicSpec[], stages: StageSpec[]): void {
  const declared = new Set(topics.map((t) => t.name));
  const names = new Set<string>();
  for (const s of stages) {
    if (names.has(s.name)) throw new Error(`topology: duplicate stage "${s.name}"`);
    names.add(s.name);
    for (const topic of [...s.inputs, ...s.outputs, ...s.tables]) {
      if (!declared.has(topic)) throw new Error(`topology: stage "${s.name}" uses undeclared topic "${topic}"`);
    }
  }
}

/** Text description, in the spirit of Kafka Streams' TopologyDescription. */
export function describeTopology(topology: Topology): string {
  const lines: string[] = ['Topics:'];
  const width = Math.max(...topology.allTopics.map((t) => t.name.length));
  for (const t of topology.allTopics) {
    lines.push(`  ${t.name.padEnd(width)}  partitions=${t.partitions} rf=${t.replicationFactor}  ${t.carries}`);
  }
  lines.push('', 'Stages:');
  for (const s of topology.stages) {
    lines.push(`  ${s.name}  (role ${s.role}${s.group ? `, group ${s.group}` : ''}): ${s.description}`);
    for (const i of s.inputs) lines.push(`    <-- ${i}`);
    for (const i of s.tables) lines.push(`    <== ${i} (whole, every process)`);
    for (const o of s.outputs) lines.push(`    --> ${o}`);
  }
  return lines.join('\n');
}

/** Topics whose records are LeadEvent (Avro lead-event.avsc); the others have their own schema or none. */
export function leadTopics(topology: Topology): string[] {
  const other = new Set([topology.topics.poison, topology.topics.optouts, topology.topics.smsReplies, topology.topics.events]);
  return topology.allTopics.map((t) => t.name).filter((t) => !other.has(t));
}

/** The stages a role runs (sink-sms runs one stage per provider). */
export function stagesForRole(topology: Topology, role: Role): StageSpec[] {
  return topology.stages.filter((s) => s.role === role);
}
