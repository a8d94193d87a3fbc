/**
 * Sandbox lead buyer: the primary destination's webhook. Answers `{"accepted": true, "id": ...}`
 * for a well-formed lead, `{"accepted": false, "reason": ...}` echoing the person when the lead's
 * vendor is "reject-me" (a business rejection, for tests), and de-duplicates on the Idempotency-Key as a
 * careful buyer would. Fault modes come from fault-server.ts.
 *
 * Given a `secret` (whsec_…), it verifies every request the way the README tells buyers to: with
 * the Standard Webhooks reference library (`standardwebhooks` on npm), and answers 401 to a
 * missing, wrong or stale signature. Using the library, not our own code, proves the router's
 * signatures are what existing libraries accept.
 */
import { Webhook } from 'standardwebhooks';
import { startFaultServer, type FaultServer } from './fault-server.js';

/** The sandbox buyers' signing secrets; config/router.yaml holds the same. */
export const SANDBOX_BUYER_SECRETS = {
  'buyer-us': 'whsec_fAmViVkAFqf/s3GZRkcCyJViWH5YaXIw',
  'buyer-uk': 'whsec_cZRPgsD8M6MOAIdmpZ3LpuwQDxe3S/KD',
} as const;

export function startBuyer(opts: { name: string; port: number; secret?: string }): Promise<FaultServer> {
  const verifier = opts.secret ? new Webhook(opts.secret) : null;
  const seen = new Map<string, string>();
  let counter = 0;
  return startFaultServer({
    name: opts.name,
    port: opts.port,
    malformedBody: '<html>502 Bad Gateway</html>',
    handler: ({ method, path, headers, body }) => {
      if (method !== 'POST' || path !== '/leads') return { status: 404, body: '{"error":"not found"}' };
      if (verifier) {
        try {
          verifier.verify(body, headers as Record<string, string>);
        } catch {
          return { status: 401, body: '{"accepted":false,"reason":"bad webhook signature"}' };
        }
      }
      const lead = JSON.parse(body) as { leadId?: string; vendor?: string; email?: string; firstName?: string; phone?: string };
      if (!lead.leadId || !lead.email) return { status: 422, body: '{"accepted":false,"reason":"leadId and email are required"}', leadId: lead.leadId ?? null };
      // Echoes the person back, as careless buyers do: the router must scrub it (issue 8).
      if (lead.vendor === 'reject-me') return { status: 200, body: JSON.stringify({ accepted: false, reason: `vendor not bought: ${lead.firstName} <${lead.email}> ${lead.phone}` }), leadId: lead.leadId };
      const key = String(headers['idempotency-key'] ?? lead.leadId);
      let id = seen.get(key);
      if (!id) {
        id = `${opts.name}-${++counter}`;
        seen.set(key, id);
      }
      return { status: 200, body: JSON.stringify({ accepted: true, id }), leadId: lead.leadId };
    },
  });
}
