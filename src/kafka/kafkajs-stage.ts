/**
 * The thin KafkaJS adapter under the batch step (src/kafka/batch-step.ts): it owns the consumer,
 * turns each fetched batch into RawRecords, and gives the step heartbeat / isStale / commit.
 *
 * KafkaJS details that decide whether a lead is lost or stuck, handled here:
 *   - autoCommit off and eachBatchAutoResolve off: what is committed comes only from the ledger.
 *   - commits go through the eachBatch payload's committer: consumer.commitOffsets() is a silent
 *     no-op once stop() has begun, which lost the commit of the batch a SIGTERM let finish.
 *   - no background heartbeats while a batch runs: the step heartbeats on a timer.
 *   - pause() survives a rebalance: a stage paused at its holding limit is resumed when it
 *     rejoins, since the rebalance dropped what it held.
 *   - a consumer can crash without restarting itself: when only the broker was away it is
 *     restarted here (src/kafka/consumer-revival.ts); otherwise reported through onCrash.
 *   - KafkaJS restarts a crashed consumer as a new member: the old one is removed from the group
 *     (src/kafka/predecessor.ts), or the rebalance would wait out its session timeout.
 *   - KafkaJS keeps asking a coordinator that moved or died: the stage makes it rejoin instead.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { messageOf } from '../errors.js';
import { metrics } from '../metrics.js';
import { createBatchStep, type BatchStep } from './batch-step.js';
import { createLiveness, isCoordinatorUnreachable, isWrongCoordinator } from './liveness.js';
import { createPipeline } from './pipeline.js';
import { feedPipeline } from './pipeline-intake.js';
import { createCommitCoalescer } from './commit-coalescer.js';
import { retireCrashedMember } from './predecessor.js';
import { createGroupMembership } from './group-membership.js';
import { createStageConsumer, rebalanceTimeoutMs } from './kafkajs-consumer.js';
import { isBrokerAway, START_BROKER_WAIT_MS, untilBrokerAnswers } from './broker-away.js';
import { createRevival } from './consumer-revival.js';
import type { KafkaStageOptions } from './kafkajs-stage-options.js';
import type { RunningStage } from './running-stage.js';

export async function runKafkaStage<T>(opts: KafkaStageOptions<T>): Promise<RunningStage & { step: BatchStep<T> }> {
  const log = opts.log.child({ stage: opts.name });
  const now = opts.now ?? Date.now;
  const consumer: Consumer = createStageConsumer(opts.kafka, opts, log);
  let stopping = false;
  // The batch path's commits (pipelined stages gather theirs in src/kafka/pipeline.ts). Sent
  // through the latest batch's committer: consumer.commitOffsets() is a no-op once stop() began.
  let committer: EachBatchPayload['commitOffsetsIfNecessary'] | null = null;
  const commits = createCommitCoalescer({
    intervalMs: opts.commitIntervalMs ?? 0,
    send: async (offsets) => {
      if (!committer) return;
      const topics = [...new Set(offsets.map((o) => o.topic))];
      await viaCoordinator(committer({ topics: topics.map((topic) => ({ topic, partitions: offsets.filter((o) => o.topic === topic).map(({ partition, offset }) => ({ partition, offset })) })) }));
    },
    onError: (err) => log.warn({ err: messageOf(err) }, 'commit failed; offsets will be re-read after the rebalance'),
  });
  const stallAfterMs = opts.stallAfterMs ?? Math.max(60_000, opts.sessionTimeoutMs * 2);
  const live = createLiveness({
    now,
    stallAfterMs,
    // Longer than a rebalance can legitimately take: the coordinator drops a member that has not
    // rejoined within the rebalance timeout, and a session timeout covers the join's round trips.
    // Chaos, three brokers: KafkaJS's join to a moved coordinator hung, and both deliver processes
    // stayed out of their search group for this long (was 120 s) before restarting fixed it.
    crashAfterMs: opts.outOfGroupCrashMs ?? rebalanceTimeoutMs(opts.sessionTimeoutMs) + opts.sessionTimeoutMs,
    // It never heals by itself (src/kafka/liveness.ts): one session timeout of it is enough.
    wrongCoordinatorCrashMs: opts.sessionTimeoutMs,
    onCrash: (reason) => {
      log.error({ group: opts.groupId }, `${reason}; the stage stops so the process restarts`);
      opts.onCrash(new Error(reason));
    },
  });

  const group = createGroupMembership({ log, groupId: opts.groupId, isStopping: () => stopping });
  const viaCoordinator = <R>(call: Promise<R>): Promise<R> =>
    live.viaCoordinator(call).catch((err: unknown) => {
      if (isWrongCoordinator(err) || isCoordinatorUnreachable(err)) {
        group.coordinatorLost(messageOf(err));
        // Paused at its holding limit, the consumer calls eachBatch no more, and only eachBatch
        // can hand the runner the rejoin: fetch again. Nothing is taken (the next eachBatch throws
        // first) and the join resumes everything anyway. Chaos, three brokers: an SMS process
        // paused behind a dead coordinator held its provider's group for 26 s.
        if (live.paused && !stopping) {
          live.setPaused(false);
          consumer.resume(all());
        }
      }
      throw err;
    });

  const step = createBatchStep<T>({
    stage: opts.name,
    logic: opts.logic,
    encoder: opts.encoder,
    producer: opts.producer,
    limits: opts.limits,
    poisonTopic: opts.poisonTopic,
    log,
    heartbeatEveryMs: Math.max(500, Math.floor(opts.sessionTimeoutMs / 6)),
    ...(opts.jobSize ? { jobSize: opts.jobSize } : {}),
    commitOutside: async (offsets) => {
      await viaCoordinator(consumer.commitOffsets(offsets));
      afterProgress();
    },
    isStopping: () => stopping,
    onTransient: (err) => live.waiting(messageOf(err)),
  });

  const pipeline = opts.pipelined
    ? createPipeline(step, {
        stage: opts.name,
        maxRecords: opts.maxPending ?? 0,
        ...(opts.jobSize ? { maxJobRecords: opts.jobSize } : {}),
        ...(opts.commitIntervalMs !== undefined ? { commitEveryMs: opts.commitIntervalMs } : {}),
        commit: async (offsets) => {
          await viaCoordinator(consumer.commitOffsets(offsets));
          live.progressed(); // /readyz stops reporting an old wait
        },
        isStopping: () => stopping,
        onProgress: () => afterProgress(),
        onFailed: (err) => {
          log.error({ err: messageOf(err) }, 'a batch failed unexpectedly; the stage stops and its records are read again');
          live.crashed(messageOf(err), true);
        },
      })
    : null;
  if (pipeline && !opts.maxPending) throw new Error(`stage ${opts.name}: a pipelined stage needs maxPending`);

  const all = () => opts.topics.map((topic) => ({ topic }));
  function afterProgress(): void {
    live.alive();
    if (!opts.maxPending) return;
    const pending = Math.max(step.ledger.pending(), pipeline?.busy() ?? 0);
    if (!live.paused && pending >= opts.maxPending) {
      live.setPaused(true);
      consumer.pause(all());
      log.warn({ pending }, 'paused fetching: holding as many records as allowed');
    } else if (live.paused && pending < opts.maxPending / 2) {
      live.setPaused(false);
      consumer.resume(all());
      log.info({ pending }, 'resumed fetching');
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    // A batch of the crashed member's last fetch: its restart (a new member) reads it again.
    if (group.crashedSinceJoin) return;
    const crashesAtStart = group.crashes;
    group.rejoinIfDue();
    const { batch } = payload;
    const records = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? String(v[0]) : String(v)])),
    }));
    if (pipeline) {
      return feedPipeline(pipeline, records, {
        isStale: () => stopping || payload.isStale(),
        heartbeat: async () => {
          try {
            await viaCoordinator(payload.heartbeat());
            return true;
          } catch (err) {
            group.heard(err);
            group.rejoinIfDue();
            return false;
          }
        },
        resolveOffset: (offset) => payload.resolveOffset(offset),
        taken: afterProgress,
      });
    }
    // The group may have moved on while this batch waits (on a store, a destination): a heartbeat
    // answered "rebalancing" or "unknown member" means these partitions may already be someone
    // else's. The batch is then abandoned (nothing committed) so the consumer can rejoin, instead
    // of retrying for a group it no longer belongs to.
    let outOfGroup = false;
    const status = await step.processBatch(records, {
      heartbeat: async () => {
        try {
          await viaCoordinator(payload.heartbeat());
          live.alive();
        } catch (err) {
          const rebalancing = group.heard(err);
          // A moved coordinator too: only KafkaJS's rejoin (after this batch returns) finds the new one.
          const fenced = (err as { type?: string }).type === 'FENCED_INSTANCE_ID';
          if (rebalancing || fenced || isWrongCoordinator(err) || isCoordinatorUnreachable(err)) outOfGroup = true;
          throw err;
        }
      },
      // A crash too: KafkaJS restarts the consumer without waiting for the batch in hand, and the
      // new member may be given its partitions while it still runs (two owners of an SMS batch).
      isStale: () => outOfGroup || group.crashes !== crashesAtStart || payload.isStale(),
      commit: (offsets) => {
        // Gathered and sent within commitIntervalMs, not waited for: the next fetch need not
        // wait a commit's round trip, nor queue behind one on the coordinator's connection
        // (src/kafka/commit-coalescer.ts). Commits go out in order, after their outputs were
        // acknowledged; a failed one means re-reading. While stopping the last one is sent at
        // once and waited for, so it lands before the group is left.
        committer = payload.commitOffsetsIfNecessary;
        commits.add(offsets);
        return stopping ? commits.flush() : Promise.resolve();
      },
    });
    if (status === 'committed') {
      live.progressed();
      // Fetch position only; what is committed came from the ledger above.
      for (const m of batch.messages) payload.resolveOffset(m.offset);
    }
    afterProgress();
    group.rejoinIfDue();
  }

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    group.joined(e.payload.memberId);
    live.joined();
    commits.drop(); // anything still gathered belongs to the old generation
    pipeline?.revoke();
    step.reset();
    opts.onRebalance?.();
    if (live.paused) {
      live.setPaused(false);
      consumer.resume(all()); // what we held was dropped with the old assignment
    }
    log.info({ assigned: e.payload.memberAssignment }, 'joined group');
  });
  consumer.on(consumer.events.REBALANCING, () => {
    live.left();
    // Finished work of the old assignment: committed in its generation if the coordinator still
    // takes it (it does while the group prepares to rebalance); re-read by the next owner if not.
    commits.flush().catch((err: unknown) => log.info({ err: messageOf(err) }, 'commit at rebalance refused; those records are read again'));
    pipeline?.revoke(); // work in flight must not commit for an assignment that is going away
  });
  consumer.on(consumer.events.FETCH, () => live.alive());
  consumer.on(consumer.events.REQUEST, (e) => metrics.kafkaRequests.inc({ stage: opts.name, api: e.payload.apiName }));
  consumer.on(consumer.events.HEARTBEAT, () => {
    live.alive();
    live.coordinatorAnswered(false);
  });
  consumer.on(consumer.events.CRASH, (e) => {
    const err = e.payload.error ?? new Error('consumer crashed');
    // KafkaJS gives up for good on some answers that only mean no broker answered ("Failed to
    // find group coordinator" while the broker restarts): restarted here, in this warm process.
    // Left to the supervisor, the process restart cost 20-40 s after the broker was back (chaos,
    // one broker: both deliver processes, every buyer and search delivery standing still).
    const revive = !e.payload.restart && !stopping && isBrokerAway(err);
    log.error({ err: messageOf(err), restart: e.payload.restart || revive }, 'consumer crashed');
    live.crashed(messageOf(err), !e.payload.restart && !revive);
    const left = group.crashed();
    commits.drop(); // the crashed member's offsets: its restart re-reads them
    // Restarted as a new member: the old one is removed until the new one has joined.
    if ((e.payload.restart || revive) && left) {
      const crashedAt = group.joins;
      void retireCrashedMember(opts.kafka, opts.groupId, left, { log, abandon: () => stopping || group.joins !== crashedAt });
    }
    if (revive) revival.soon();
  });

  const revival = createRevival({ consumer, runOptions: () => runOptions, log, groupId: opts.groupId, isStopping: () => stopping });

  const watchdog = setInterval(() => live.check(), 5000);
  watchdog.unref();

  const runOptions = { autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently, eachBatch };
  await untilBrokerAnswers(() => consumer.connect(), { waitMs: opts.brokerWaitMs ?? START_BROKER_WAIT_MS, onWait: (err) => log.warn({ err: messageOf(err) }, 'Kafka not answering; waiting for it') });
  await consumer.subscribe({ topics: opts.topics, fromBeginning: true });
  await consumer.run(runOptions);
  log.info({ group: opts.groupId, topics: opts.topics }, 'stage running');

  return {
    name: opts.name,
    step,
    health() {
      return { stage: opts.name, group: opts.groupId, ready: live.ready, problems: live.problems(), paused: live.paused, pending: step.ledger.pending() };
    },
    async stop() {
      stopping = true;
      live.stopping();
      clearInterval(watchdog);
      revival.cancel();
      if (pipeline) {
        // Work in flight finishes and commits before the consumer stops: consumer.commitOffsets()
        // is a no-op once stop() has begun.
        consumer.pause(all());
        await pipeline.drain();
      }
      // stop() waits for the batch in hand, which commits itself before it returns; commits
      // gathered earlier land before the group is left.
      await commits.flush().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'last commit failed; offsets will be re-read'));
      await consumer.stop();
      await step.settled();
      await consumer.disconnect();
    },
  };
}
