/**
 * Error tracking: Sentry when SENTRY_DSN is set, and in every case uncaught errors are logged
 * and end the process (a supervisor restarts it; Kafka re-delivers what was not committed).
 *
 * Nothing personal or secret leaves for Sentry: dataCollection off for users, cookies, headers,
 * query strings, bodies, database and queue payloads and frame variables; no request
 * bodies, headers, query strings or cookies, no breadcrumbs (they repeat console and HTTP
 * traffic), no local variables; exception messages and stacks are scrubbed of e-mail addresses
 * and phone numbers and every remaining field goes through the same deep redaction as the logs.
 */
import type * as SentryNs from '@sentry/node';
import type { Logger } from 'pino';
import { redactDeep } from './security/redact.js';
import { scrubReason } from './security/scrub.js';

type SentryEvent = Parameters<NonNullable<SentryNs.NodeOptions['beforeSend']>>[0];

/** What is left of an event once it may leave the process. */
export function scrubSentryEvent<E extends SentryEvent>(event: E): E {
  const e = { ...event };
  // The route and method are useful; body, headers, cookies, query strings and IPs are not sent.
  if (e.request) e.request = { ...(e.request.method ? { method: e.request.method } : {}), ...(e.request.url ? { url: e.request.url.split('?')[0] } : {}) };
  delete e.user;
  delete e.breadcrumbs;
  if (e.extra) e.extra = redactDeep(e.extra) as typeof e.extra;
  if (e.contexts) e.contexts = redactDeep(e.contexts) as typeof e.contexts;
  if (e.tags) e.tags = redactDeep(e.tags) as typeof e.tags;
  if (e.message) e.message = scrubReason(e.message, { max: 1000 });
  if (e.exception?.values) {
    e.exception = {
      ...e.exception,
      values: e.exception.values.map((v) => ({
        ...v,
        ...(v.value ? { value: scrubReason(v.value, { max: 1000 }) } : {}),
        ...(v.stacktrace?.frames ? { stacktrace: { ...v.stacktrace, frames: v.stacktrace.frames.map(({ vars: _vars, ...f }) => f) } } : {}),
      })),
    };
  }
  return e;
}

/**
 * The SDK is loaded only when a DSN is set: it is the largest import a role has (0.3 s of a 0.8 s
 * start on an idle machine, several times that on a busy one), and a restarted role's start-up is
 * time its partitions wait.
 */
export async function initErrorTracking(dsn: string | undefined, log: Logger): Promise<void> {
  const Sentry = dsn ? await import('@sentry/node') : null;
  if (Sentry) {
    Sentry.init({
      dsn,
      tracesSampleRate: 0,
      includeLocalVariables: false,
      // This SDK's successor of sendDefaultPii: collect nothing about users, requests or data.
      dataCollection: {
        userInfo: false,
        cookies: false,
        httpHeaders: false,
        httpBodies: [],
        urlQueryParams: false,
        databaseQueryData: false,
        queues: false,
        stackFrameVariables: false,
        graphQL: { document: false, variables: false },
        genAI: { inputs: false, outputs: false },
      },
      maxBreadcrumbs: 0,
      beforeBreadcrumb: () => null,
      beforeSend: (event) => scrubSentryEvent(event),
      beforeSendTransaction: () => null,
    });
  }
  const fatal = (kind: string) => (err: unknown) => {
    log.fatal({ err }, kind);
    Sentry?.captureException(err);
    void Promise.resolve(Sentry?.flush(2000)).finally(() => process.exit(1));
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
}
