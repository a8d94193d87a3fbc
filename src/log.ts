/**
 * pino JSON logs. Personal data and credentials are redacted at any depth of a logged object,
 * arrays included, and error messages and stacks are scrubbed of e-mail addresses and phone
 * numbers (src/security/redact.ts), so a lead or an error can be logged whole when debugging.
 * This runs in formatters.log, which pino calls on each line that passes the level, before its
 * serializers: the cost is paid only for lines actually written.
 */
import pino, { type Logger } from 'pino';
import { redactDeep } from './security/redact.js';

export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    formatters: { log: (object) => redactDeep(object) as Record<string, unknown> },
    base: { pid: process.pid, role: name },
  });
}
