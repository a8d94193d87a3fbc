/**
 * Wires the dashboard into an ingest process (src/roles.ts calls this): the live view and the
 * actions over what the process already has (Kafka client and admin, the producer, the codecs,
 * the history store and the opt-out list, both opened only when first used). Nothing runs until
 * a page is opened: an ingest nobody watches pays nothing for its dashboard.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { HistoryEventRecord } from '../history/events.js';
import type { HistoryStore } from '../history/store.js';
import type { RecordProducer } from '../kafka/stage-contract.js';
import type { Admin, Kafka } from '../kafka/client.js';
import type { Codec, Encoder, LeadCodec } from '../kafka/codec.js';
import type { ProduceLimits } from '../kafka/produce-limits.js';
import type { Keyring } from '../security/keyring.js';
import type { OptOutList } from '../sinks/sms/optouts.js';
import type { Topology } from '../topology.js';
import { DashboardActions } from './actions.js';
import { knownDestinations, LiveView } from './live-view.js';
import { dashboardPlugin } from './plugin.js';

export interface DashboardContext {
  config: Config;
  topology: Topology;
  kafka: Kafka;
  admin: Admin;
  producer: RecordProducer;
  encoder: Encoder;
  leadCodec: LeadCodec;
  eventsCodec: Codec<HistoryEventRecord>;
  limits: ProduceLimits;
  historyStore(): Promise<HistoryStore>;
  optOuts(): Promise<OptOutList>;
  keyring: Keyring;
  log: Logger;
  now(): number;
}

export async function registerDashboard(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const log = ctx.log.child({ component: 'dashboard' });
  const live = new LiveView({ ...ctx, log });
  const actions = new DashboardActions({ ...ctx, stats: live.stats, log });
  await app.register(dashboardPlugin, {
    keyring: ctx.keyring,
    live,
    actions,
    topology: ctx.topology,
    topicPrefix: ctx.config.env.TOPIC_PREFIX,
    destinations: knownDestinations(ctx.config),
  });
}
