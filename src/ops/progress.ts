/**
 * A progress bar for long CLI work, on stderr so stdout stays the result. On a terminal it
 * redraws one line (at most 10 times a second); elsewhere (CI, a pipe) it prints a plain line
 * every few seconds so logs show it moving without filling up.
 */
export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress {
  const tty = stream.isTTY === true;
  const started = now();
  let last = 0;
  let drawn = false;
  const line = (done: number, total: number) => {
    const pct = total > 0 ? Math.min(1, done / total) : 1;
    const width = 30;
    const filled = Math.round(pct * width);
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 && total > done ? ` eta ${Math.ceil((total - done) / rate)} s` : '';
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(pct * 100)}% ${done}/${total} (${Math.round(rate)}/s${eta})`;
  };
  return {
    update(done, total) {
      const t = now();
      if (t - last < (tty ? 100 : 3000) && done < total) return;
      last = t;
      drawn = true;
      stream.write(tty ? `\r${line(done, total)}\x1b[K` : `${line(done, total)}\n`);
    },
    done() {
      if (drawn && tty) stream.write('\n');
    },
  };
}
