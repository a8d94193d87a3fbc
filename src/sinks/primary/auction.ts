/**
 * Ping/post auctions: every eligible buyer with a `ping` gets the lead without personal data, at
 * once and in parallel, and has the group's bid window (300 ms by default) to answer with a bid.
 * A bid that comes later counts as no bid (methods.ts leaves it out as "bid late"): the lead is
 * not held for a slow bidder, since it is worth most in its first minutes. The highest bid gets
 * the full post; on a rejection, the next highest.
 *
 * What a ping carries: enough to price the lead (where, what job, how reachable, how fresh, from
 * whom, whether consent evidence exists), never who the person is: no name, e-mail, phone,
 * street-level data, IP or consent wording. The 5-digit ZIP is the usual geographic key of
 * ping/post contracts and stays.
 */
import { interpretBid } from '../../distribution/response.js';
import type { Bid } from '../../distribution/methods.js';
import type { DistributionBuyer } from '../../distribution/buyer-schema.js';
import type { LeadEvent } from '../../lead.js';
import type { BuyerClient } from './buyer-client.js';

/** The anonymised lead a buyer bids on. */
export function pingPayload(lead: LeadEvent): Record<string, unknown> {
  const e = lead.enrichment;
  return {
    leadId: lead.leadId,
    receivedAt: lead.receivedAt,
    country: lead.country,
    zip: lead.zip ? lead.zip.trim().slice(0, 5) : null,
    state: e?.timezone.state ?? null,
    city: e?.timezone.city ?? null,
    timezone: e?.timezone.zone ?? null,
    jobTitle: e?.jobTitle.canonical ?? null,
    jobCategory: e?.jobTitle.category ?? null,
    emailStatus: e?.email.status ?? null,
    phoneType: e?.phone.type ?? null,
    source: lead.source,
    vendor: lead.vendor,
    consent: { sms: lead.consent.sms, email: lead.consent.email ?? null, at: lead.consent.at, certificate: Boolean(lead.consent.certificateUrl) },
  };
}

/**
 * Pings `bidders` for `lead` and returns their bids by buyer name. Each request is cut off at
 * the bid window (or the buyer's own ping timeout when shorter); elapsed times are measured from
 * when the pings went out, so a bid past the window is recognisably late.
 */
export async function collectBids(client: BuyerClient, lead: LeadEvent, bidders: readonly { name: string; buyer: DistributionBuyer }[], bidWindowMs: number): Promise<Record<string, Bid>> {
  const body = JSON.stringify(pingPayload(lead));
  const started = Date.now();
  const bids: Record<string, Bid> = {};
  await Promise.all(
    bidders.map(async ({ name, buyer }) => {
      const ping = buyer.ping;
      if (!ping) return;
      const timeoutMs = Math.min(ping.timeoutMs, bidWindowMs);
      const reply = await client.post({ url: ping.url, timeoutMs, headers: ping.headers, secret: buyer.secret }, `${lead.leadId}:ping:${name}`, body);
      const elapsedMs = Date.now() - started;
      if (!reply.ok) {
        // Cut off at the window: "late", so the explanation says the bidder was too slow.
        const late = reply.kind === 'timeout' && timeoutMs >= bidWindowMs;
        bids[name] = { amount: null, elapsedMs: late ? Math.max(elapsedMs, bidWindowMs + 1) : elapsedMs, reason: reply.detail };
        return;
      }
      const bid = interpretBid(ping, reply.status, reply.body);
      bids[name] = 'bid' in bid ? { amount: bid.bid, elapsedMs } : { amount: null, elapsedMs, reason: bid.noBid };
    }),
  );
  return bids;
}
