/**
 * Which offsets of a partition are done, and so how far it is safe to commit. A stage marks
 * an offset done only when its lead is delivered, or durably handed to leads.backup / leads.dlq.
 * Offsets may finish out of order (the backup stage holds records until they are due); the
 * commit point is the first offset that is not done yet, so nothing unfinished is ever skipped.
 */
export class OffsetLedger {
  private readonly partitions = new Map<string, PartitionLedger>();

  private ledger(topic: string, partition: number): PartitionLedger {
    const key = `${topic}\u0000${partition}`;
    let l = this.partitions.get(key);
    if (!l) {
      l = new PartitionLedger(topic, partition);
      this.partitions.set(key, l);
    }
    return l;
  }

  /** Records that an offset was read and is now being worked on. */
  track(topic: string, partition: number, offset: string): void {
    this.ledger(topic, partition).track(BigInt(offset));
  }

  done(topic: string, partition: number, offset: string): void {
    this.ledger(topic, partition).done(BigInt(offset));
  }

  /** Offsets to commit (Kafka convention: the next offset to read), only where they moved. */
  takeCommits(): { topic: string; partition: number; offset: string }[] {
    const out: { topic: string; partition: number; offset: string }[] = [];
    for (const l of this.partitions.values()) {
      const next = l.commitPoint();
      if (next !== null && next !== l.committed) {
        out.push({ topic: l.topic, partition: l.partition, offset: next.toString() });
        l.committed = next;
      }
    }
    return out;
  }

  /**
   * How many tracked offsets are not done yet (back-pressure). Only unfinished ones count: a done
   * offset waiting behind an unfinished one is no work in hand, and counting it would let one
   * stuck record pause the stage for good.
   */
  pending(): number {
    let n = 0;
    for (const l of this.partitions.values()) n += l.pendingCount();
    return n;
  }

  /** After a rebalance every partition starts over from its committed offset. */
  reset(): void {
    this.partitions.clear();
  }
}

class PartitionLedger {
  /** Tracked offsets in read order (increasing), from the first one not done. */
  private readonly queue: bigint[] = [];
  /** Tracked and not done. */
  private readonly queued = new Set<bigint>();
  /** Done, but behind an offset that is not: waiting for the commit point to pass them. */
  private readonly finished = new Set<bigint>();
  private highest: bigint | null = null;
  committed: bigint | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  track(offset: bigint): void {
    if (this.highest !== null && offset <= this.highest) return; // redelivered after a retry: already tracked
    this.queue.push(offset);
    this.queued.add(offset);
    this.highest = offset;
  }

  done(offset: bigint): void {
    if (!this.queued.has(offset)) return; // not tracked (since a reset), or done already
    this.queued.delete(offset);
    this.finished.add(offset);
    while (this.queue.length > 0 && this.finished.has(this.queue[0]!)) {
      this.finished.delete(this.queue.shift()!);
    }
  }

  commitPoint(): bigint | null {
    if (this.queue.length > 0) return this.queue[0]!;
    return this.highest === null ? null : this.highest + 1n;
  }

  pendingCount(): number {
    return this.queued.size;
  }
}
