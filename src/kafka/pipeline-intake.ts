/**
 * How a fetched batch enters the pipeline (src/kafka/pipeline.ts): in whole jobs, only while the
 * work in hand stays within the pipeline's bound; the rest waits here, heartbeating, rather than
 * piling on. Pausing alone let fetched batches keep arriving, and jobs queued behind a slow store
 * outlived their own deadlines (chaos run 6); taking a whole fetch at once overshot the bound by
 * six partitions' worth of leads (575 MB RSS at 102,000 leads/min, issue 11).
 */
import type { RawRecord } from './stage-contract.js';
import type { Pipeline } from './pipeline.js';

export interface Intake {
  /** Stopping, or the batch's partitions are no longer ours: the rest is read again by its next owner. */
  isStale(): boolean;
  /** While waiting for room; false: the group moves on, take nothing more. */
  heartbeat(): Promise<boolean>;
  /** A record taken: the consumer's fetch position moves past it (nothing is committed here). */
  resolveOffset(offset: string): void;
  /** After each job taken: back-pressure is checked again. */
  taken(): void;
}

/** How long a batch waits for room before it heartbeats and looks again. */
const WAIT_MS = 50;

export async function feedPipeline(pipeline: Pipeline, records: RawRecord[], intake: Intake): Promise<void> {
  let taken = 0;
  while (taken < records.length) {
    const n = pipeline.room(records.length - taken);
    if (n === 0) {
      if (intake.isStale()) return;
      await new Promise((r) => setTimeout(r, WAIT_MS));
      if (!(await intake.heartbeat())) return;
      continue;
    }
    if (intake.isStale()) return;
    const slice = records.slice(taken, taken + n);
    pipeline.accept(slice);
    for (const m of slice) intake.resolveOffset(m.offset);
    taken += slice.length;
    intake.taken();
  }
}
