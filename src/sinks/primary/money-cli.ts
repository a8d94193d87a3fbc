/**
 * `lead-router report revenue --by buyer|vendor|source|rule --since T [--until T] [--csv]`: what
 * was sold and returned, from the payouts ledger (ledger.ts), as a table or CSV:
 *
 *   buyer        sold   gross  returned  credited     net
 *   acme-health    41  902.00         2     44.00  858.00
 *   TOTAL          41  902.00         2     44.00  858.00
 *
 * T is ISO-8601 (2026-12-01, 2026-12-01T09:00:00-06:00), epoch ms, or an age (30m, 12h, 7d).
 * Sales count in the window they were made, returns in the window they were made.
 *
 * `lead-router buyers key <buyer>`: mints a buyer key (lrb_…) for the returns endpoint and prints
 * it once, with the line to add under security.buyers in the router file (only its hash is kept).
 */
import type { Config } from '../../config.js';
import { connectMongo } from '../../history/store.js';
import { BUYER_KEY_PREFIX, DEV_PEPPER, hashCredential, mintCredential } from '../../security/credentials.js';
import { openLedger, REVENUE_DIMENSIONS, type RevenueDimension, type RevenueRow } from './ledger.js';

const AGE = /^(\d+)(m|h|d)$/;

export function parseSince(text: string, now = Date.now()): Date {
  const age = AGE.exec(text.trim());
  if (age) return new Date(now - Number(age[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 'm' | 'h' | 'd']);
  if (/^\d{10,}$/.test(text.trim())) return new Date(Number(text));
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`"${text}" is not a time: use ISO-8601, epoch ms, or an age like 30m, 12h, 7d`);
  return new Date(t);
}

export function formatRevenue(by: RevenueDimension, rows: readonly RevenueRow[], csv: boolean): string {
  const total = rows.reduce((t, r) => ({ key: 'TOTAL', sold: t.sold + r.sold, gross: t.gross + r.gross, returned: t.returned + r.returned, credited: t.credited + r.credited, net: t.net + r.net }), { key: 'TOTAL', sold: 0, gross: 0, returned: 0, credited: 0, net: 0 });
  const head = [by, 'sold', 'gross', 'returned', 'credited', 'net'];
  const cells = (r: RevenueRow) => [r.key, String(r.sold), r.gross.toFixed(2), String(r.returned), r.credited.toFixed(2), r.net.toFixed(2)];
  if (csv) {
    const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
    return [head, ...rows.map(cells)].map((line) => line.map(quote).join(',')).join('\n');
  }
  const table = [head, ...rows.map(cells), cells(total)];
  const widths = head.map((_, i) => Math.max(...table.map((line) => line[i]!.length)));
  return table.map((line) => line.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function runReportCli(args: string[], config: Config, write: (text: string) => void): Promise<number> {
  const by = option(args, '--by') as RevenueDimension | undefined;
  const since = option(args, '--since');
  if (args[0] !== 'revenue' || !by || !REVENUE_DIMENSIONS.includes(by) || !since) {
    write(`usage: lead-router report revenue --by ${REVENUE_DIMENSIONS.join('|')} --since T [--until T] [--csv]`);
    return 2;
  }
  const until = option(args, '--until');
  const client = await connectMongo(config.env.MONGO_URL);
  try {
    const rows = await (await openLedger(client.db())).revenue(by, parseSince(since), until ? parseSince(until) : undefined);
    write(formatRevenue(by, rows, args.includes('--csv')));
    return 0;
  } finally {
    await client.close();
  }
}

export function runBuyersCli(args: string[], config: Config, write: (text: string) => void): number {
  const [command, buyer] = args;
  if (command !== 'key' || !buyer) {
    write('usage: lead-router buyers key <buyer>   (mints a key for the returns endpoint)');
    return 2;
  }
  if (!Object.hasOwn(config.router.primary.buyers, buyer)) {
    write(`unknown buyer "${buyer}": buyers are ${Object.keys(config.router.primary.buyers).join(', ')}`);
    return 1;
  }
  const key = mintCredential(BUYER_KEY_PREFIX);
  const hash = hashCredential(config.env.CREDENTIAL_PEPPER ?? DEV_PEPPER, key.value);
  write(`buyer key for ${buyer} (shown once; give it to the buyer): ${key.value}`);
  write(`add under security.buyers in ${config.routerPath}:`);
  write(`    ${buyer}: { keys: [{ id: ${key.id}, hash: "${hash}" }] }`);
  return 0;
}
