/**
 * Restarting a KafkaJS consumer inside its process, for the crashes KafkaJS will not restart
 * itself but that only meant the broker was away (src/kafka/broker-away.ts). KafkaJS has
 * disconnected the crashed consumer; connecting and running the same one again keeps its
 * subscription and its event handlers. A join that fails crashes it again, which calls soon()
 * again. A consumer that never gets back is still crashed by the out-of-group rule
 * (src/kafka/liveness.ts), and the supervisor restarts the process.
 */
import type { Consumer, ConsumerRunConfig } from 'kafkajs';
import type { Logger } from 'pino';
import { messageOf } from '../errors.js';

export interface Revival {
  /** Restarts the consumer after a backoff: 0.5 s, doubling to 4 s, reset by a join. */
  soon(): void;
  cancel(): void;
}

export function createRevival(opts: { consumer: Consumer; runOptions(): ConsumerRunConfig; log: Logger; groupId: string; isStopping(): boolean }): Revival {
  const { consumer, log } = opts;
  let attempts = 0;
  let timer: NodeJS.Timeout | null = null;
  consumer.on(consumer.events.GROUP_JOIN, () => void (attempts = 0));
  const revival: Revival = {
    soon() {
      if (timer || opts.isStopping()) return;
      const delayMs = Math.min(4000, 500 * 2 ** attempts++);
      timer = setTimeout(() => {
        timer = null;
        if (opts.isStopping()) return;
        consumer
          .connect()
          .then(() => consumer.run(opts.runOptions()))
          .then(() => log.info({ group: opts.groupId, attempt: attempts }, 'consumer restarted in this process: the broker was away'))
          .catch((err: unknown) => {
            log.warn({ err: messageOf(err) }, 'restarting the consumer failed; trying again');
            revival.soon();
          });
      }, delayMs);
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
  return revival;
}
