/**
 * Sandbox lead buyer: the primary destination's webhook. Answers `{"accepted": true, "id": ...}`
 * for a well-formed lead, `{"accepted": false, "reason": ...}` when the lead's vendor is
 * "reject-me" (a business rejection, for tests), and de-duplicates on the Idempotency-Key as a
 * careful buyer would. Fault modes come from fault-server.ts.
 */
import { startFaultServer, type FaultServer } from './fault-server.js';

export function startBuyer(opts: { name: string; port: number }): Promise<FaultServer> {
  const seen = new Map<string, string>();
  let counter = 0;
  return startFaultServer({
    name: opts.name,
    port: opts.port,
    malformedBody: '<html>502 Bad Gateway</html>',
    handler: ({ method, path, headers, body }) => {
      if (method !== 'POST' || path !== '/leads') return { status: 404, body: '{"error":"not found"}' };
      const lead = JSON.parse(body) as { leadId?: string; vendor?: string; email?: string };
      if (!lead.leadId || !lead.email) return { status: 422, body: '{"accepted":false,"reason":"leadId and email are required"}', leadId: lead.leadId ?? null };
      if (lead.vendor === 'reject-me') return { status: 200, body: '{"accepted":false,"reason":"vendor not bought"}', leadId: lead.leadId };
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
