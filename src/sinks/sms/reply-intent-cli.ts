/**
 * `lead-router reply-intent`: one reply text per input line → one intent per output line, in the
 * same order, so it can be pasted into a spreadsheet beside the input or piped through `paste`.
 * An empty line still gets an answer (OTHER) to keep the lines aligned.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { classifyReply } from './reply-intent.js';

export async function runReplyIntentCli(input: Readable, output: Writable): Promise<void> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    // Respect back-pressure: a large file piped to a slow consumer must not buffer in memory.
    if (!output.write(`${classifyReply(line)}\n`)) await once(output, 'drain');
  }
}
