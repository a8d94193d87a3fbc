/**
 * The one place that loads KafkaJS, with a fix it still lacks (2.2.4, the last release; the same
 * fix is upstream's open pull request tulios/kafkajs#1779).
 *
 * A coordinator that is loading its group (after it moved: a broker restarted, a preferred leader
 * election) answers JoinGroup with GROUP_LOAD_IN_PROGRESS, and one that is going away with
 * GROUP_COORDINATOR_NOT_AVAILABLE. KafkaJS's join gives up on both instead of asking again, and
 * its runner then goes back to fetching without having joined: no new join, no crash. Chaos, three
 * brokers: every consumer group whose coordinator moved at a leader election sat out of its group
 * for 71 s, until the out-of-group rule restarted the processes. Counted with the answers that
 * mean "rebalancing", both make KafkaJS find the coordinator and join again, with its backoff.
 *
 * The patch must be in place before KafkaJS's consumer modules load (they copy the function when
 * they load), so every module of the router imports KafkaJS through this one.
 */
import { createRequire } from 'node:module';
import type * as KafkaJS from 'kafkajs';

const require = createRequire(import.meta.url);

/** Answers after which a consumer should find its group's coordinator again and rejoin. */
const REJOIN_ANSWERS = ['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'GROUP_LOAD_IN_PROGRESS', 'GROUP_COORDINATOR_NOT_AVAILABLE'] as const;

interface ErrorsModule {
  isRebalancing(e: { type?: string }): boolean;
}
const errors = require('kafkajs/src/errors.js') as ErrorsModule;
const runnerPath = require.resolve('kafkajs/src/consumer/runner.js');
/** False when KafkaJS's consumer was loaded before this module (by code that imported 'kafkajs' directly). */
export const rejoinFixApplied = !(runnerPath in require.cache);
errors.isRebalancing = (e) => (REJOIN_ANSWERS as readonly string[]).includes(e?.type ?? '');

const kafkajs = require('kafkajs') as typeof KafkaJS;
export default kafkajs;
