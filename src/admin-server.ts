/**
 * Every role process answers a supervisor on its admin port (127.0.0.1 by default):
 *   GET /healthz  200 while the process is alive and not shutting down
 *   GET /readyz   200 only when every stage is in its consumer group, not crashed or stalled, and
 *                 not waiting on a broken dependency; 503 with the problems otherwise
 * Kubernetes liveness / readiness probes and `npm start`'s supervisor use these.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReadinessReport {
  ready: boolean;
  problems: string[];
  [detail: string]: unknown;
}

export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

export interface AdminRoutes {
  alive(): boolean;
  readiness(): Promise<ReadinessReport>;
  /** Extra GET routes (e.g. /metrics): path → [content type, body]. */
  extra?: Record<string, () => Promise<[string, string]>>;
}

export async function startAdminServer(host: string, port: number, routes: AdminRoutes): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'application/json', '{"error":"method_not_allowed"}');
    if (path === '/healthz') return routes.alive() ? send(200, 'application/json', '{"ok":true}') : send(503, 'application/json', '{"ok":false}');
    if (path === '/readyz') {
      routes.readiness().then(
        (r) => send(r.ready ? 200 : 503, 'application/json', JSON.stringify(r)),
        (err: unknown) => send(503, 'application/json', JSON.stringify({ ready: false, problems: [String((err as Error).message)] })),
      );
      return;
    }
    const extra = path ? routes.extra?.[path] : undefined;
    if (extra) {
      extra().then(
        ([type, body]) => send(200, type, body),
        (err: unknown) => send(500, 'text/plain', String((err as Error).message)),
      );
      return;
    }
    send(404, 'application/json', '{"error":"not_found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
