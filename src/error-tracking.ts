/**
 * Error tracking: Sentry when SENTRY_DSN is set, and in every case uncaught errors are logged
 * and end the process (a supervisor restarts it; Kafka re-delivers what was not committed).
 */
import * as Sentry from '@sentry/node';
import type { Logger } from 'pino';

export function initErrorTracking(dsn: string | undefined, log: Logger): void {
  if (dsn) Sentry.init({ dsn, tracesSampleRate: 0 });
  const fatal = (kind: string) => (err: unknown) => {
    log.fatal({ err }, kind);
    if (dsn) Sentry.captureException(err);
    void Sentry.flush(2000).finally(() => process.exit(1));
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
}
