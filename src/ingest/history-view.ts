/**
 * A lead's history for people: every hop in order, ISO times, the gap since the previous hop.
 * Operators see it as stored; a vendor sees only its own leads (the `vendor` of the lead's
 * `received` event, which ingest took from the vendor's key) and with every detail masked:
 * details are written scrubbed since issue 8, but history from before, and text a vendor has no
 * business reading (a person's SMS reply, a buyer's answer), is masked again on the way out.
 */
import type { StoredEvent } from '../history/store.js';
import { scrubReason } from '../security/scrub.js';

/** The vendor that sent the lead, from its received event; null when that event is not (yet) stored. */
export function vendorOf(stored: StoredEvent[]): string | null {
  return stored.find((e) => e.type === 'received')?.fields.vendor ?? null;
}

export function historyView(leadId: string, stored: StoredEvent[], opts: { masked?: boolean } = {}) {
  const received = stored.find((e) => e.type === 'received');
  let previous: number | null = null;
  const events = stored.map((e) => {
    const at = e.at.getTime();
    const gapMs = previous === null ? null : at - previous;
    previous = at;
    const detail = e.detail ? (opts.masked ? maskDetail(e.type, e.detail) : e.detail) : null;
    return {
      eventId: e._id,
      type: e.type,
      at: e.at.toISOString(),
      gapMs,
      stage: e.stage,
      ...(e.destination ? { destination: e.destination } : {}),
      ...(e.attempt !== null ? { attempt: e.attempt } : {}),
      ...(detail ? { detail } : {}),
    };
  });
  return { leadId, ...(received ? { receivedAt: received.at.toISOString(), ...received.fields } : {}), events };
}

/** What a buyer paid or was credited is between the router and the buyer, not the vendor. */
const PRICE = /\bsold at [0-9.]+( \([^)]*\))?/g;
const CREDIT = /\bcredited [0-9.]+/g;

/** Replies are the person's own words: a vendor sees that one came, and its intent, nothing else. */
function maskDetail(type: string, detail: string): string {
  if (type === 'reply') return /^[A-Z]{2,10}$/.test(detail) ? detail : 'reply received';
  if (type === 'delivered' || type === 'returned') detail = detail.replace(PRICE, 'sold').replace(CREDIT, 'credited');
  return scrubReason(detail, { max: 200 });
}
