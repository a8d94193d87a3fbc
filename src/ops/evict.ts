/**
 * The supervisor's half of predecessor removal (src/kafka/predecessor.ts). A restarted process
 * removes its dead predecessor from its consumer groups as it starts; but on a loaded machine a
 * restart takes longer than the session timeout to get that far (chaos, one broker: 7-10 s from
 * spawn to its first log line), so the groups waited the whole session timeout for the dead
 * member anyway, every partition of them standing still. The supervisor knows at once that the
 * process is dead (it saw it exit) and is already running: it removes the members at once, and
 * the live members take the partitions over within a second or two.
 *
 * Used by `npm start` and the chaos suite (scripts/supervisor.ts, before the restart). In
 * production the restarted pod or unit still does it itself at start-up.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createKafka, kafkaClientId, roleClientSuffix } from '../kafka/client.js';
import { removePredecessors } from '../kafka/predecessor.js';
import { buildTopology, stagesForRole, type Role } from '../topology.js';

export interface Evictor {
  /**
   * Removes the members of a dead process (its instance name and roles) from its groups; the
   * member ids removed. None after `withinMs`: its restart may have begun by then (the
   * supervisor waits for this at most 5 s), and its new member has the same client id.
   */
  evict(instance: string, roles: Role[], withinMs?: number): Promise<string[]>;
}

export function createEvictor(config: Config, log: Logger): Evictor {
  const topology = buildTopology(config);
  // KafkaJS's own connection errors while a broker is away are expected here, and the
  // supervisor's output is not the place for them: one warning line says the removal failed.
  // Few retries: with the broker away there is nobody to remove members from, and the restart
  // waits for this (up to 5 s); the restarted process removes its predecessor once the broker is
  // back (src/roles.ts).
  const kafka = createKafka(config.env, log.child({}, { level: 'fatal' }), 'supervisor', { retries: 4 });
  return {
    evict(instance, roles, withinMs = 4500) {
      const until = Date.now() + withinMs;
      const groups = [...new Set(roles.flatMap((role) => stagesForRole(topology, role).flatMap((s) => (s.group ? [s.group] : []))))];
      const clientId = kafkaClientId({ ...config.env, LEAD_ROUTER_INSTANCE: instance }, roleClientSuffix(roles));
      return removePredecessors(kafka, groups, clientId, log.child({ instance }), { until });
    },
  };
}
