/**
 * The topology, declared once: every topic, every stage with its consumer group, inputs and
 * outputs. Roles, topic creation, `lead-router topology` and the README diagram all read it.
 * Built from config (SMS providers decide the per-provider topics) and validated on build,
 * like Kafka Streams' Topology: a stage reading a topic nobody declared fails here, not at run time.
 */
import type { Config } from './config.js';

export type Role = 'ingest' | 'enrich' | 'route' | 'sink-primary' | 'sink-sms' | 'sink-search' | 'sink-backup';
export const ROLES: readonly Role[] = ['ingest', 'enrich', 'route', 'sink-primary', 'sink-sms', 'sink-search', 'sink-backup'];

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
  /** Consumer group, or null for ingest (it only produces). */
  group: string | null;
  inputs: string[];
  outputs: string[];
  description: string;
}

export interface Topology {
  topics: Record<TopicKey, string> & { sms: Record<string, string> };
  allTopics: TopicSpec[];
  stages: StageSpec[];
}

export type TopicKey = 'raw' | 'enriched' | 'primary' | 'search' | 'backup' | 'dlq' | 'poison' | 'rejected' | 'optouts' | 'smsReplies' | 'smsDeferred';

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
    optouts: t('leads.optouts'),
    smsReplies: t('leads.sms.replies'),
    smsDeferred: t('leads.sms.deferred'),
    sms: Object.fromEntries(Object.keys(config.router.sms.providers).map((p) => [p, t(`leads.sms.${p}`)])),
  };
  // min.insync.replicas only means something with more than one replica: 2 of 3 in production.
  const durability: Record<string, string> = rf >= 3 ? { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' } : {};
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
    spec(topics.backup, 'failed deliveries with attempt, error and next-attempt time (key: leadId)', 14),
    spec(topics.dlq, 'deliveries that will not be retried, with the reason (key: leadId)', 30),
    spec(topics.poison, 'raw bytes that could not be decoded, with context headers', 30),
    spec(topics.rejected, 'leads the router refused to route (loop guard, no rule), with the reason', 30),
    compacted(topics.optouts, 'the global SMS opt-out list (key: phone E.164; OptOut records, latest wins)'),
    spec(topics.smsReplies, 'inbound SMS replies with their intent (key: phone E.164; SmsReply records)', 30),
    spec(topics.smsDeferred, 'texts held back by quiet hours until their window opens (key: phone E.164)', 14),
  ];
  const deliveryOutputs = [topics.backup, topics.dlq];
  const g = (name: string): string => `${prefix}${name}`;
  const stages: StageSpec[] = [
    { name: 'ingest', role: 'ingest', group: null, inputs: [], outputs: [topics.raw], description: 'HTTP POST /v1/leads → validated, id assigned, acked by Kafka' },
    { name: 'enrich', role: 'enrich', group: g('enrich'), inputs: [topics.raw], outputs: [topics.enriched], description: 'email, phone E.164, timezone from ZIP, job title' },
    {
      name: 'route',
      role: 'route',
      group: g('route'),
      inputs: [topics.enriched],
      outputs: [topics.primary, ...smsTopics.map(([, n]) => n), topics.search, topics.rejected],
      description: 'rules by source, market, state, job, email, phone; loop guard; follows leads.optouts',
    },
    { name: 'sink-primary', role: 'sink-primary', group: g('sink-primary'), inputs: [topics.primary], outputs: deliveryOutputs, description: 'POST to the buyer webhook; status and body validated' },
    ...smsTopics.map(([p, name]) => ({
      name: `sink-sms.${p}`,
      role: 'sink-sms' as const,
      group: g(`sink-sms.${p}`),
      inputs: [name],
      // fallback goes to the next provider's topic; quiet hours to the deferred topic
      outputs: [...deliveryOutputs, ...smsTopics.filter(([o]) => o !== p).map(([, n]) => n), topics.smsDeferred],
      description: `text through provider ${p}: opt-outs, dedup by phone, quiet hours, fallback`,
    })),
    {
      name: 'sink-sms.deferred',
      role: 'sink-sms',
      group: g('sink-sms.deferred'),
      inputs: [topics.smsDeferred],
      outputs: smsTopics.map(([, n]) => n),
      description: 'release texts to their provider topic when the quiet-hour window opens',
    },
    { name: 'sink-search', role: 'sink-search', group: g('sink-search'), inputs: [topics.search], outputs: deliveryOutputs, description: 'bulk index into Elasticsearch, _id = leadId' },
    { name: 'sink-backup', role: 'sink-backup', group: g('sink-backup'), inputs: [topics.backup], outputs: deliveryOutputs, description: 'redeliver with capped exponential backoff; then DLQ' },
  ];
  validate(allTopics, stages);
  return { topics, allTopics, stages };
}

function validate(topics: TopicSpec[], stages: StageSpec[]): void {
  const declared = new Set(topics.map((t) => t.name));
  const names = new Set<string>();
  for (const s of stages) {
    if (names.has(s.name)) throw new Error(`topology: duplicate stage "${s.name}"`);
    names.add(s.name);
    for (const topic of [...s.inputs, ...s.outputs]) {
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
    for (const o of s.outputs) lines.push(`    --> ${o}`);
  }
  return lines.join('\n');
}

/** Topics whose records are LeadEvent (Avro lead-event.avsc); the others have their own schema or none. */
export function leadTopics(topology: Topology): string[] {
  const other = new Set([topology.topics.poison, topology.topics.optouts, topology.topics.smsReplies]);
  return topology.allTopics.map((t) => t.name).filter((t) => !other.has(t));
}

/** The stages a role runs (sink-sms runs one stage per provider). */
export function stagesForRole(topology: Topology, role: Role): StageSpec[] {
  return topology.stages.filter((s) => s.role === role);
}
