/**
 * `lead-router replay`:
 *   --from dlq [--destination D] [--reason R] [--since T] [--until T] [--edit file.json] [--dry-run]
 *       dead leads back to their destinations (the dashboard's DLQ replay, same code: replay.ts)
 *   --topic leads.raw --since T [--until T] [--dry-run]
 *       leads of a time window through enrich and route again, with today's rules (topic-replay.ts)
 * T is ISO-8601 (2026-05-01T10:00:00Z), epoch ms, or an age: 90s, 30m, 2h, 1d. Each run says what
 * it will do before it does it, shows a progress bar, and skips what was already delivered.
 * --json prints the final report as JSON.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { readRange } from '../kafka/topic-reader.js';
import type { LeadEvent } from '../lead.js';
import { createEnricher } from '../processors/enrich/index.js';
import { followOptOuts } from '../sinks/sms/optouts.js';
import { routeLead, routingReloader } from '../stages/route-stage.js';
import { deadLeadOf, latestPerDelivery, matchesFilter, type DeadFilter, type DeadLead } from './dead-letters.js';
import { checkEdit } from './lead-edit.js';
import { openOpsWriter } from './ops-context.js';
import { progressBar } from './progress.js';
import { replayDeadLeads } from './replay.js';
import { replayRawTopic } from './topic-replay.js';

export class UsageError extends Error {}

export function parseTime(text: string, now = Date.now()): number {
  const age = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (age) return now - Number(age[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d{10,}$/.test(text)) return Number(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`not a time: "${text}" (use ISO-8601, epoch ms, or an age like 30m, 2h, 1d)`);
  return t;
}

export function parseReplayArgs(args: string[]) {
  const opts: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    const name = a.slice(2);
    if (name === 'dry-run' || name === 'json') opts[name] = true;
    else if (['from', 'topic', 'destination', 'reason', 'since', 'until', 'edit'].includes(name)) {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      opts[name] = v;
    } else throw new UsageError(`unknown option --${name}`);
  }
  const str = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  if (!!opts.from === !!opts.topic) throw new UsageError('say what to replay: --from dlq, or --topic leads.raw --since T');
  if (opts.from && opts.from !== 'dlq') throw new UsageError('--from takes dlq');
  const since = str('since') !== undefined ? parseTime(str('since')!) : undefined;
  const until = str('until') !== undefined ? parseTime(str('until')!) : undefined;
  if (opts.topic && since === undefined) throw new UsageError('--topic needs --since (a replay of a whole topic is never what you want)');
  const editPath = str('edit');
  if (editPath && opts.topic) throw new UsageError('--edit applies to dead leads (--from dlq)');
  let edit: Record<string, unknown> | undefined;
  if (editPath) {
    try {
      edit = checkEdit(JSON.parse(fs.readFileSync(editPath, 'utf8')));
    } catch (err) {
      throw new UsageError(`--edit ${editPath}: ${(err as Error).message}`);
    }
  }
  return { from: str('from'), topic: str('topic'), destination: str('destination'), reason: str('reason'), since, until, edit, dryRun: opts['dry-run'] === true, json: opts.json === true };
}

export async function runReplayCli(args: string[], config: Config, log: Logger, write: (line: string) => void): Promise<number> {
  let parsed: ReturnType<typeof parseReplayArgs>;
  try {
    parsed = parseReplayArgs(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`lead-router replay: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const ops = await openOpsWriter(config, log, 'replay');
  const say = (line: string) => (parsed.json ? process.stderr.write(`${line}\n`) : write(line));
  try {
    const { topics } = ops.topology;
    const when = (t: number | undefined) => (t === undefined ? '…' : new Date(t).toISOString());
    if (parsed.topic) {
      if (parsed.topic !== topics.raw && `${config.env.TOPIC_PREFIX}${parsed.topic}` !== topics.raw) throw new Error(`only ${topics.raw} can be re-run (dead letters: --from dlq)`);
      say(`${parsed.dryRun ? 'Dry run: would re-run' : 'Re-running'} the leads written to ${topics.raw} from ${when(parsed.since)} to ${when(parsed.until)} through enrich and route with the rules in ${config.routerPath}, then on to their destinations' topics; deliveries already made (history: delivered) or still in flight from an earlier replay are skipped.`);
      // The rules in the file now, validated as the route stage validates a reload.
      const rules = routingReloader(config.router, log)(fs.readFileSync(config.routerPath, 'utf8'), config.routerPath);
      const enricher = createEnricher(config.router.enrichment);
      const optOuts = await followOptOuts({ kafka: ops.kafka, topic: topics.optouts, codec: ops.optOutCodec, log });
      const bar = progressBar('leads.raw');
      try {
        const report = await replayRawTopic(
          {
            ...ops,
            history: (id) => ops.history.forLead(id),
            enrich: async (leads) => (await enricher.enrichBatch(leads)).map((e, i) => ({ ...leads[i]!, hops: [...leads[i]!.hops, 'enrich'], enrichment: e })),
            route: (lead, now) => routeLead(lead, rules, ops.topology, now, optOuts),
            now: Date.now,
          },
          { since: parsed.since!, until: parsed.until, dryRun: parsed.dryRun, by: 'cli', onProgress: (d, t) => bar.update(d, t) },
        );
        bar.done();
        if (parsed.json) write(JSON.stringify(report, null, 2));
        else {
          say(`${report.leads} lead(s) read (${report.read} records${report.undecodable ? `, ${report.undecodable} undecodable` : ''}); ${report.rejected} rejected by the current rules`);
          for (const [d, p] of Object.entries(report.destinations)) say(`  ${d.padEnd(28)} ${parsed.dryRun ? 'would deliver' : 'sent'} ${p.deliver}, already delivered ${p.alreadyDelivered}, in flight ${p.inFlight}`);
        }
      } finally {
        await optOuts.close();
        await enricher.close();
      }
      return 0;
    }

    const filter: DeadFilter = { destination: parsed.destination, reason: parsed.reason, since: parsed.since, until: parsed.until };
    const matched: DeadLead[] = [];
    const reading = progressBar('reading leads.dlq');
    await readRange({
      kafka: ops.kafka,
      topic: topics.dlq,
      async onBatch(records) {
        for (const r of records) {
          const lead: LeadEvent | null = await ops.leadCodec.decode(r.value).catch(() => null);
          if (!lead) continue;
          const d = deadLeadOf(lead, { partition: r.partition, offset: r.offset, timestamp: r.timestamp, headers: r.headers });
          if (matchesFilter(d, filter)) matched.push(d);
        }
      },
      onProgress: (d, t) => reading.update(d, t),
    });
    reading.done();
    const dead = latestPerDelivery(matched);
    const byDest = new Map<string, number>();
    for (const d of dead) byDest.set(d.destination ?? `(died in ${d.stage})`, (byDest.get(d.destination ?? `(died in ${d.stage})`) ?? 0) + 1);
    const described = [parsed.destination && `destination ${parsed.destination}`, parsed.reason && `reason containing "${parsed.reason}"`, (parsed.since || parsed.until) && `died ${when(parsed.since)} to ${when(parsed.until)}`].filter(Boolean).join(', ');
    say(`${dead.length} dead lead(s) in ${topics.dlq}${described ? ` with ${described}` : ''}: ${[...byDest].map(([d, n]) => `${d} ${n}`).join(', ') || 'none'}.`);
    say(`${parsed.dryRun ? 'Dry run: would replay' : 'Replaying'} them to their destinations' topics${parsed.edit ? ` with the edit of ${Object.keys(parsed.edit).join(', ')}` : ''}; leads already delivered there, or replayed since they died, are skipped.`);
    const bar = progressBar('replay');
    const report = await replayDeadLeads({ ...ops, history: (id) => ops.history.forLead(id), now: Date.now }, dead, { edit: parsed.edit, dryRun: parsed.dryRun, by: 'cli', onProgress: (d, t) => bar.update(d, t) });
    bar.done();
    if (parsed.json) write(JSON.stringify(report, null, 2));
    else {
      say(`${parsed.dryRun ? 'would replay' : 'replayed'} ${report.replayed}, skipped ${report.skipped}, failed ${report.failed}`);
      for (const [why, n] of Object.entries(report.reasons)) say(`  ${n} × ${why}`);
    }
    return report.failed > 0 ? 1 : 0;
  } finally {
    await ops.close();
  }
}
