/**
 * The base of every sandbox destination: a small node:http server that records what it
 * receives and can be switched between fault modes at run time, so tests and local runs can
 * make a third party misbehave on demand.
 *
 * Control API (same on every sandbox server; a server may add routes, e.g. /_sandbox/stats):
 *   GET    /_sandbox/received            → { received: Received[] }   (optionally ?leadId=…&since=…)
 *   DELETE /_sandbox/received            → clears the record
 *   GET    /_sandbox/mode                → { mode, delayMs }
 *   PUT    /_sandbox/mode  {mode, delayMs?, refuseForMs?} → switches the fault mode
 *
 * Modes:
 *   healthy    answer normally
 *   refuse     the port refuses connections (the process is gone): a client knows nothing was sent
 *   down       accept the connection, read the request, destroy it without an answer (a black
 *              hole: the client cannot know whether the request was acted on)
 *   slow       wait delayMs, then answer normally
 *   error500   answer 500 with a JSON error
 *   malformed  answer 200 with a body that does not parse / validate
 *
 * Leaving `refuse`: nothing can reach the port while it refuses, so over HTTP `refuse` must come
 * with `refuseForMs` (at most 10 minutes) and the server goes back to its previous mode by
 * itself; in-process, `setMode()` / `refuseFor()` do either, and both resolve once the port is
 * really closed or listening again.
 */
import http from 'node:http';
import { PortSwitch } from './port-switch.js';

export type FaultMode = 'healthy' | 'refuse' | 'down' | 'slow' | 'error500' | 'malformed';
export const FAULT_MODES: readonly FaultMode[] = ['healthy', 'refuse', 'down', 'slow', 'error500', 'malformed'];

/** Longest `refuseForMs` over HTTP: a forgotten chaos step must not leave a destination dead. */
export const MAX_REFUSE_MS = 600_000;

export interface Received {
  at: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Filled by the handler when it can tell which lead the request was about. */
  leadId: string | null;
  /** Whether the server answered as healthy (the request counted as delivered). */
  accepted: boolean;
  /** SMS providers: true when this request texted a phone this provider had already texted. */
  duplicate?: boolean;
  /** Set by handlers that de-duplicate: the request repeated an idempotency key and was answered with the original result. */
  replayed?: boolean;
}

export interface Answer {
  status: number;
  body: string;
  contentType?: string;
  leadId?: string | null;
  /** Copied to the record (see Received). */
  duplicate?: boolean;
  replayed?: boolean;
}

/** Answers a request in healthy mode. Throwing answers 400 with the message. */
export type Handler = (req: { method: string; path: string; query: URLSearchParams; headers: http.IncomingHttpHeaders; body: string }) => Answer | Promise<Answer>;

/** An extra control route (path under /_sandbox/): its JSON answer, always 200. Not subject to fault modes. */
export type ControlRoute = (req: { method: string; query: URLSearchParams }) => unknown;

export interface FaultServerOptions {
  name: string;
  port: number;
  host?: string;
  handler: Handler;
  /** The body to send in `malformed` mode. */
  malformedBody?: string;
  /** How many requests to keep in memory (oldest dropped first). */
  keep?: number;
  /** Extra control routes by full path, e.g. { '/_sandbox/stats': () => stats() }. */
  control?: Record<string, ControlRoute>;
}

export interface FaultServer {
  name: string;
  url: string;
  port: number;
  received: Received[];
  /**
   * Switches the mode; resolves once it is in force (for `refuse`: the listener is closed and open
   * connections are dropped; leaving it: listening again on the same port). Cancels a pending
   * `refuseFor` revert. Callers that only switch between answering modes need not await it.
   */
  setMode(mode: FaultMode, delayMs?: number): Promise<void>;
  /** Refuses connections for ms, then goes back to the mode it had before. */
  refuseFor(ms: number): Promise<void>;
  getMode(): { mode: FaultMode; delayMs: number };
  close(): Promise<void>;
}

export async function startFaultServer(opts: FaultServerOptions): Promise<FaultServer> {
  const keep = opts.keep ?? 200_000;
  const received: Received[] = [];
  let mode: FaultMode = 'healthy';
  let delayMs = 2_000;
  let closed = false;
  let revert: { timer: NodeJS.Timeout; to: FaultMode } | undefined;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void serve(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, JSON.stringify({ error: String(err) }));
      });
    });
  });
  server.keepAliveTimeout = 65_000;
  const portSwitch = new PortSwitch(server, opts.host ?? '127.0.0.1');

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    if (url.pathname.startsWith('/_sandbox/')) return control(req, res, url, body);

    // The mode when the request arrived decides its fate, even if it changes during a slow wait.
    const m = mode;
    // `refuse` on a connection accepted just before the listener closed: as good as down.
    if (m === 'down' || m === 'refuse') {
      record(req, url, body, null, false);
      req.socket.destroy();
      return;
    }
    if (m === 'slow') await new Promise((r) => setTimeout(r, delayMs));
    if (m === 'error500') {
      record(req, url, body, null, false);
      return send(res, 500, JSON.stringify({ error: 'sandbox: injected 500' }));
    }
    if (m === 'malformed') {
      record(req, url, body, null, false);
      return send(res, 200, opts.malformedBody ?? '{"accepted": tru', 'application/json');
    }
    let answer: Answer;
    try {
      answer = await opts.handler({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body });
    } catch (err) {
      record(req, url, body, null, false);
      return send(res, 400, JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
    }
    record(req, url, body, answer.leadId ?? null, answer.status < 300, answer);
    send(res, answer.status, answer.body, answer.contentType);
  }

  function record(req: http.IncomingMessage, url: URL, body: string, leadId: string | null, accepted: boolean, answer?: Answer): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const rec: Received = { at: Date.now(), method: req.method ?? 'GET', path: url.pathname, headers, body, leadId, accepted };
    if (answer?.duplicate !== undefined) rec.duplicate = answer.duplicate;
    if (answer?.replayed !== undefined) rec.replayed = answer.replayed;
    received.push(rec);
    if (received.length > keep) received.splice(0, received.length - keep);
  }

  function control(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string): void {
    if (url.pathname === '/_sandbox/received') {
      if (req.method === 'DELETE') {
        received.length = 0;
        return send(res, 200, '{"cleared":true}');
      }
      const leadId = url.searchParams.get('leadId');
      const since = Number(url.searchParams.get('since') ?? 0);
      const list = received.filter((r) => (!leadId || r.leadId === leadId) && r.at >= since);
      return send(res, 200, JSON.stringify({ received: list }));
    }
    if (url.pathname === '/_sandbox/mode') {
      if (req.method === 'PUT' || req.method === 'POST') return changeMode(res, body);
      return send(res, 200, JSON.stringify({ mode, delayMs }));
    }
    const route = opts.control?.[url.pathname];
    if (route) return send(res, 200, JSON.stringify(route({ method: req.method ?? 'GET', query: url.searchParams })));
    send(res, 404, '{"error":"unknown sandbox control path"}');
  }

  function changeMode(res: http.ServerResponse, body: string): void {
    let next: { mode?: string; delayMs?: number; refuseForMs?: number };
    try {
      next = JSON.parse(body || '{}') as typeof next;
    } catch {
      return send(res, 400, JSON.stringify({ error: 'body is not JSON' }));
    }
    if (!next.mode || !FAULT_MODES.includes(next.mode as FaultMode)) {
      return send(res, 400, JSON.stringify({ error: `mode must be one of ${FAULT_MODES.join(', ')}` }));
    }
    if (next.mode !== 'refuse') {
      void setMode(next.mode as FaultMode, next.delayMs);
      return send(res, 200, JSON.stringify({ mode, delayMs }));
    }
    const ms = next.refuseForMs;
    if (typeof ms !== 'number' || !(ms > 0) || ms > MAX_REFUSE_MS) {
      const error = `refuse needs refuseForMs (1..${MAX_REFUSE_MS}): nothing can reach this port to switch it back`;
      return send(res, 400, JSON.stringify({ error }));
    }
    // Answer first: closing the port drops this connection too.
    res.once('finish', () => void refuseFor(ms).catch(report));
    send(res, 200, JSON.stringify({ mode: 'refuse', delayMs, refuseForMs: ms }));
  }

  function setMode(next: FaultMode, nextDelay?: number): Promise<void> {
    if (revert) clearTimeout(revert.timer);
    revert = undefined;
    mode = next;
    if (nextDelay !== undefined) delayMs = nextDelay;
    return portSwitch.set(mode !== 'refuse' && !closed);
  }

  function refuseFor(ms: number): Promise<void> {
    // Refusing again while refusing extends it; the mode to go back to stays the one from before.
    const to = mode === 'refuse' ? (revert?.to ?? 'healthy') : mode;
    const done = setMode('refuse');
    revert = { to, timer: setTimeout(() => void setMode(to).catch(report), ms) };
    return done;
  }

  function report(err: unknown): void {
    process.stderr.write(`sandbox ${opts.name}: cannot switch mode: ${err instanceof Error ? err.message : String(err)}\n`);
  }

  const port = await portSwitch.open(opts.port);
  return {
    name: opts.name,
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    setMode,
    refuseFor,
    getMode: () => ({ mode, delayMs }),
    close: async () => {
      closed = true;
      if (revert) clearTimeout(revert.timer);
      revert = undefined;
      await portSwitch.set(false).catch(() => {});
    },
  };
}

function send(res: http.ServerResponse, status: number, body: string, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
