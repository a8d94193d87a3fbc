/** The SentStore contract in memory (same semantics as src/sinks/sms/sent-store.ts), for sink tests. */
import { Abandoned } from '../../src/errors.js';
import type { SentStore, TextRecord } from '../../src/sinks/sms/sent-store.js';

export function memorySentStore() {
  const phones = new Map<string, { leadId: string; at: number }>();
  const intents = new Map<string, { phone: string; provider: string; state: 'sending' | 'failed'; intentAt: number }>();
  const sent = new Map<string, { phone: string; provider: string; providerMessageId: string; sentAt: number }>();
  /** Leads the caller said were recorded before (read first): which texts it took for redeliveries. */
  const reads: string[] = [];
  const recordOf = (leadId: string): TextRecord | null => {
    const s = sent.get(leadId);
    if (s) return { leadId, phone: s.phone, provider: s.provider, state: 'sent', intentAt: s.sentAt, providerMessageId: s.providerMessageId };
    const i = intents.get(leadId);
    return i ? { leadId, ...i } : null;
  };
  const store: SentStore = {
    async claimPhones(claims, now, windowMs, stop) {
      const lost = new Map<string, string>();
      for (const c of claims) {
        const h = phones.get(c.phone);
        if (h && stop?.()) throw new Abandoned('while reading phone claims');
        if (h?.leadId === c.leadId) lost.set(c.phone, c.leadId); // ours already: a redelivery
        else if (!h || h.at < now - windowMs) phones.set(c.phone, { leadId: c.leadId, at: now });
        else lost.set(c.phone, h.leadId);
      }
      return lost;
    },
    async recordIntents(list, clock, recordedBefore, stop) {
      if (list.some((t) => recordedBefore?.has(t.leadId)) && stop?.()) throw new Abandoned('while reading texts tried before');
      reads.push(...list.filter((t) => recordedBefore?.has(t.leadId)).map((t) => t.leadId));
      const now = clock();
      const existing = new Map<string, TextRecord | 'taken'>();
      const takenOverAt = new Map<string, number>();
      for (const t of list) {
        const r = recordOf(t.leadId);
        if (!r) intents.set(t.leadId, { phone: t.phone, provider: t.provider, state: 'sending', intentAt: now });
        else if (r.state === 'failed') {
          // A takeover is stamped when it is written, as the real store does.
          const at = clock();
          intents.set(t.leadId, { phone: t.phone, provider: t.provider, state: 'sending', intentAt: at });
          takenOverAt.set(t.leadId, at);
        } else existing.set(t.leadId, r);
      }
      return { existing, intentAt: now, takenOverAt };
    },
    async markSent(list) {
      for (const t of list) if (!sent.has(t.leadId)) sent.set(t.leadId, { phone: t.phone, provider: t.provider, providerMessageId: t.providerMessageId, sentAt: t.sentAt });
    },
    async markFailed(list, release = (free) => free()) {
      for (const t of list) {
        const i = intents.get(t.leadId);
        if (i?.state !== 'sending' || i.provider !== t.provider || i.intentAt !== t.intentAt) continue; // taken over meanwhile
        i.state = 'failed';
        await release(async () => void (phones.get(t.phone)?.leadId === t.leadId && phones.delete(t.phone)));
      }
    },
    async withdraw(list, release = (free) => free()) {
      for (const t of list) {
        const i = intents.get(t.leadId);
        if (i?.state !== 'sending' || i.provider !== t.provider || i.intentAt !== t.intentAt) continue; // taken over meanwhile
        intents.delete(t.leadId);
        await release(async () => void (phones.get(t.phone)?.leadId === t.leadId && phones.delete(t.phone)));
      }
    },
    async byProviderMessageId(provider, id) {
      for (const [leadId, s] of sent) if (s.provider === provider && s.providerMessageId === id) return recordOf(leadId);
      return null;
    },
    async lastToPhone(phone) {
      const list = [...sent].filter(([, s]) => s.phone === phone).sort((a, b) => b[1].sentAt - a[1].sentAt);
      return list[0] ? recordOf(list[0][0]) : null;
    },
  };
  return { store, phones, intents, sent, reads };
}
