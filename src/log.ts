/**
 * pino JSON logs. Personal data (names, email, phone) is redacted wherever it appears in a
 * logged object, so a lead can be logged whole when debugging a stage.
 */
import pino, { type Logger } from 'pino';

const PERSONAL = ['firstName', 'lastName', 'email', 'phone', 'address', 'e164', 'to', 'first', 'last'];
const REDACT = [
  ...PERSONAL,
  ...PERSONAL.map((f) => `*.${f}`),
  ...PERSONAL.map((f) => `*.*.${f}`),
  'req.headers.authorization',
  'req.headers["x-api-key"]',
];

export function createLogger(level: string, name: string): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid, role: name } });
}
