/**
 * The base of every sandbox destination: a small node:http server that records what it
 * receives and can be switched between fault modes at run time, so tests and local runs can
 * make a third party misbehave on demand.
 *
 * Control API (same on every sandbox server):
 *   GET    /_sandbox/received            → { received: Received[] }   (optionally ?leadId=…)
 *   DELETE /_sandbox/received            → clears the record
 *   GET    /_sandbox/mode                → { mode, delayMs }
 *   PUT    /_sandbox/mode  {mode, delayMs?} → switches the fault mode
 *
 * Modes:
 *   healthy    answer normally
 *   down       accept the connection and destroy it without an answer (a dead peer)
 *   slow       wait delayMs, then answer normally
 *   error500   answer 500 with a JSON error
 *   malformed  answer 200 with a body that does not parse / validate
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode = 'healthy' | 'down' | 'slow' | 'error500' | 'malformed';
export const FAULT_MODES: readonly FaultMode[] = ['healthy', 'down', 'slow', 'error500', 'malformed'];

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
  /** Set by handlers that de-duplicate: true when the request repeated an idempotency key already seen. */
  duplicate?: boolean;
}

export interface Answer {
  status: number;
  body: string;
  contentType?: string;
  leadId?: string | null;
  /** Copied to the record: the request repeated an idempotency key (answered with the original result). */
  duplicate?: boolean;
}

/** Answers a request in healthy mode. Throwing answers 400 with the message. */
export type Handler = (req: { method: string; path: string; query: URLSearchParams; headers: http.IncomingHttpHeaders; body: string }) => Answer | Promise<Answer>;

export interface FaultServerOptions {
  name: string;
  port: number;
  host?: string;
  handler: Handler;
  /** The body to send in `malformed` mode. */
  malformedBody?: string;
  /** How many requests to keep in memory (oldest dropped first). */
  keep?: number;
}

export interface FaultServer {
  name: string;
  url: string;
  port: number;
  received: Received[];
  setMode(mode: FaultMode, delayMs?: number): void;
  close(): Promise<void>;
}

export async function startFaultServer(opts: FaultServerOptions): Promise<FaultServer> {
  const keep = opts.keep ?? 200_000;
  const received: Received[] = [];
  let mode: FaultMode = 'healthy';
  let delayMs = 2_000;

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

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    if (url.pathname.startsWith('/_sandbox/')) return control(req, res, url, body);

    if (mode === 'down') {
      record(req, url, body, null, false);
      req.socket.destroy();
      return;
    }
    if (mode === 'slow') await new Promise((r) => setTimeout(r, delayMs));
    if (mode === 'error500') {
      record(req, url, body, null, false);
      return send(res, 500, JSON.stringify({ error: 'sandbox: injected 500' }));
    }
    if (mode === 'malformed') {
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
    record(req, url, body, answer.leadId ?? null, answer.status < 300, answer.duplicate);
    send(res, answer.status, answer.body, answer.contentType);
  }

  function record(req: http.IncomingMessage, url: URL, body: string, leadId: string | null, accepted: boolean, duplicate?: boolean): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    received.push({ at: Date.now(), method: req.method ?? 'GET', path: url.pathname, headers, body, leadId, accepted, ...(duplicate === undefined ? {} : { duplicate }) });
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
      if (req.method === 'PUT' || req.method === 'POST') {
        const next = JSON.parse(body || '{}') as { mode?: string; delayMs?: number };
        if (!next.mode || !FAULT_MODES.includes(next.mode as FaultMode)) {
          return send(res, 400, JSON.stringify({ error: `mode must be one of ${FAULT_MODES.join(', ')}` }));
        }
        setMode(next.mode as FaultMode, next.delayMs);
      }
      return send(res, 200, JSON.stringify({ mode, delayMs }));
    }
    send(res, 404, '{"error":"unknown sandbox control path"}');
  }

  function setMode(next: FaultMode, nextDelay?: number): void {
    mode = next;
    if (nextDelay !== undefined) delayMs = nextDelay;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    name: opts.name,
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    setMode,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, status: number, body: string, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
