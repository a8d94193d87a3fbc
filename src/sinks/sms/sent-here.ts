/**
 * Texts this process itself recorded as sent, the most recent ones. After a rebalance the texts
 * in hand are read again, and the partitions often come back to the same process: each such
 * redelivery used to cost a phone claim, an intent insert that FerretDB answers one transaction
 * per duplicate, and three reads, 4–10 s per job of 100 under a backlog (chaos runs), while the
 * group waited. A text found here was sent (its sent record was written before it was added), so
 * the answer is the store's own: already texted. Nothing is ever sent because of this cache; a
 * text not found here goes through the store as before.
 */
export interface SentText {
  provider: string;
  providerMessageId: string;
}

export class SentHere {
  private readonly texts = new Map<string, SentText>();

  constructor(private readonly max = 50_000) {}

  /** Only after the sent record is durably written. */
  add(leadId: string, text: SentText): void {
    this.texts.delete(leadId);
    this.texts.set(leadId, text);
    if (this.texts.size > this.max) this.texts.delete(this.texts.keys().next().value!);
  }

  get(leadId: string): SentText | undefined {
    return this.texts.get(leadId);
  }

  get size(): number {
    return this.texts.size;
  }
}
