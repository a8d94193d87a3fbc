/**
 * The time, injectable. Production uses the system clock. Tests of time-dependent behaviour
 * (quiet hours: "a lead at 23:00 local is released at 08:00") run the real processes with
 * LEAD_ROUTER_CLOCK_FILE pointing at a file holding an offset in milliseconds, which they
 * rewrite to move every process's clock at once. Read at most every 100 ms.
 */
import fs from 'node:fs';

export type Clock = () => number;

export function createClock(env: { LEAD_ROUTER_CLOCK_FILE?: string | undefined } = process.env): Clock {
  const file = env.LEAD_ROUTER_CLOCK_FILE;
  if (!file) return Date.now;
  let offset = 0;
  let readAt = 0;
  return () => {
    const now = Date.now();
    if (now - readAt > 100) {
      readAt = now;
      try {
        offset = Number(fs.readFileSync(file, 'utf8').trim()) || 0;
      } catch {
        offset = 0;
      }
    }
    return now + offset;
  };
}
