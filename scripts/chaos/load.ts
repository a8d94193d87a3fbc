/**
 * The chaos run's vendor: posts leads at a steady rate, retries what was not accepted the way a
 * vendor would (same vendorLeadId, backoff, up to a minute: ingest may be down or restarting,
 * Kafka may be away), and keeps the ledger of every lead that got a 202 with what it needs:
 * a US lead goes to buyer-us, an SMS (twilio or its fallback eurosms) and search; a UK lead to
 * buyer-uk, eurosms and search. Each lead has a phone of its own, so SMS dedup never hides a loss.
 */
import http from 'node:http';

export interface AcceptedLead {
  leadId: string;
  phone: string;
  market: 'US' | 'UK';
  buyer: 'buyer-us' | 'buyer-uk';
  acceptedAt: number;
}

export interface LoadResult {
  accepted: AcceptedLead[];
  /** Leads that were never accepted (the vendor gave up): not the router's to deliver. */
  gaveUp: number;
  /** Answers other than 202 seen on the way (retried). */
  statuses: Record<string, number>;
}

const FIRST = ['Ana', 'Ben', 'Chloe', 'Dev', 'Elif', 'Femi', 'Gus', 'Hana'];
const TITLES = ['Warehouse Associate - Full Time', 'CNA - Nights', 'CDL-A Truck Driver', 'Cashier PT', 'Registered Nurse'];
const ZIPS = ['10001', '60601', '80202', '94105', '33101', '75201', '98101', '02108'];
const AREAS = ['212', '312', '415', '617', '713', '305', '206', '303'];

/** A valid, unique number per lead and run (US: area + exchange 200-899; UK: 074xx mobiles). */
export function phoneFor(run: number, i: number, market: 'US' | 'UK'): string {
  const j = run * 1_000_000 + i;
  if (market === 'UK') return `+4474${String(run % 100).padStart(2, '0')}${String(i % 1_000_000).padStart(6, '0')}`;
  return `+1${AREAS[j % 8]}${200 + (Math.floor(j / 8) % 700)}${String(Math.floor(j / 5600) % 10000).padStart(4, '0')}`;
}

export function leadBody(run: number, i: number) {
  const market = i % 10 === 9 ? 'UK' : 'US';
  const base = {
    firstName: FIRST[i % FIRST.length],
    lastName: `Chaos${String(i).padStart(6, '0')}`,
    email: `chaos.${run}.${i}@example.com`,
    phone: phoneFor(run, i, market),
    jobTitle: TITLES[i % TITLES.length],
    source: 'chaos',
    vendor: 'chaos',
    vendorLeadId: `chaos-${run}-${i}`,
    consent: { sms: true, at: new Date().toISOString(), text: 'I agree to receive job alerts by SMS.' },
  };
  return market === 'UK' ? { ...base, country: 'GB', postcode: 'SW1A 1AA', market } : { ...base, country: 'US', zip: ZIPS[i % ZIPS.length], market };
}

function post(url: URL, agent: http.Agent, headers: Record<string, string>, body: unknown): Promise<{ status: number; json: Record<string, unknown> | null }> {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, timeout: 15_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let json: Record<string, unknown> | null = null;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, json: null }));
    req.end(data);
  });
}

export async function runLoad(opts: {
  /** Ingest processes, taken in turn; a try that gets no 202 goes to the next (a load balancer's retry). */
  urls: string[];
  headers: Record<string, string>;
  count: number;
  ratePerSecond: number;
  run: number;
  onProgress?(sent: number, accepted: number): void;
}): Promise<LoadResult> {
  const urls = opts.urls.map((u) => new URL(u));
  let turn = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const accepted: AcceptedLead[] = [];
  const statuses: Record<string, number> = {};
  let gaveUp = 0;
  const inFlight = new Set<Promise<void>>();

  async function send(i: number): Promise<void> {
    const { market, ...body } = leadBody(opts.run, i);
    const until = Date.now() + 60_000;
    for (let attempt = 0; ; attempt++) {
      const res = await post(urls[turn++ % urls.length]!, agent, opts.headers, body);
      if (res.status === 202 && typeof res.json?.leadId === 'string') {
        accepted.push({ leadId: res.json.leadId, phone: body.phone, market: market as 'US' | 'UK', buyer: market === 'UK' ? 'buyer-uk' : 'buyer-us', acceptedAt: Date.now() });
        return;
      }
      statuses[String(res.status)] = (statuses[String(res.status)] ?? 0) + 1;
      if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new Error(`lead ${i} refused with ${res.status}: ${JSON.stringify(res.json)}`);
      if (Date.now() > until) {
        gaveUp++;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
    }
  }

  const started = Date.now();
  for (let i = 0; i < opts.count; i++) {
    const due = started + (i * 1000) / opts.ratePerSecond;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = send(i).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (i % 500 === 0) opts.onProgress?.(i, accepted.length);
  }
  await Promise.all([...inFlight]);
  agent.destroy();
  return { accepted, gaveUp, statuses };
}
