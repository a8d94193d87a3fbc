/**
 * Hot-reloaded routing rules. The store loads the router file at creation (a bad file throws,
 * as at start-up), then watches it and swaps in new rules only when the new file validates; an
 * invalid file is logged (warn, with the readable reason) and the last good rules stay in force.
 *
 * Change detection: fs.watch on the file's directory (editors and `kubectl`-style ConfigMap
 * mounts replace the file atomically, which a watch on the file itself would lose), plus a light
 * periodic stat as a fallback for file systems where watching is unreliable (NFS, some
 * containers). Both only schedule a debounced check; the check re-reads the file and reloads only
 * when its text changed, so a burst of events is one reload.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RoutingConfig } from './route.js';

/** T: what the loader takes from the file (routing rules; sink-primary adds buyers and groups). */
export interface RulesStoreOptions<T extends RoutingConfig = RoutingConfig> {
  path: string;
  log: Logger;
  /** Parses and validates the file's text (the same validation as start-up); throws when invalid. */
  load: (text: string, where: string) => T;
  /** Called after new rules are in force. */
  onChange?: (next: T, previous: T) => void;
  /** Quiet time after the last change event before the file is re-read. Default 200 ms. */
  debounceMs?: number;
  /** Stat fallback period; 0 turns it off. Default 2000 ms. */
  pollMs?: number;
}

export type ReloadResult = { ok: true } | { ok: false; error: string };

export interface RulesStore<T extends RoutingConfig = RoutingConfig> {
  /** The rules in force: read it per batch, never keep it. */
  current(): T;
  /** Re-reads and re-validates the file now, whether or not it changed. */
  reloadNow(): ReloadResult;
  close(): void;
}

export function createRulesStore<T extends RoutingConfig = RoutingConfig>(opts: RulesStoreOptions<T>): RulesStore<T> {
  const file = path.resolve(opts.path);
  const dir = path.dirname(file);
  const base = path.basename(file);
  const log = opts.log;
  const debounceMs = opts.debounceMs ?? 200;
  const pollMs = opts.pollMs ?? 2000;

  let lastSignature = signature(file);
  let lastText = fs.readFileSync(file, 'utf8');
  let rules = deepFreeze(opts.load(lastText, file));
  /** The text last rejected, and why: the same bad file is not re-reported on every event. */
  let rejected: { text: string; error: string } | null = null;
  let readError: string | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;

  function reload(force: boolean): ReloadResult {
    const sig = signature(file); // before the read: a change after it is seen by the next poll
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const error = `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      if (force || readError !== error) log.warn({ path: file, reason: error }, 'routing rules not reloaded; keeping the last good rules');
      else log.debug({ path: file, reason: error }, 'routing rules file: still cannot read it');
      readError = error;
      return { ok: false, error };
    }
    lastSignature = sig;
    readError = null;
    if (!force && text === lastText) return { ok: true };
    if (!force && rejected?.text === text) return { ok: false, error: rejected.error };
    let next: T;
    try {
      next = deepFreeze(opts.load(text, file));
    } catch (err) {
      const error = (err as Error).message;
      rejected = { text, error };
      log.warn({ path: file, reason: error }, `routing rules rejected; keeping the last good rules: ${error}`);
      return { ok: false, error };
    }
    const previous = rules;
    rules = next;
    lastText = text;
    rejected = null;
    log.info({ path: file, rules: next.routing.rules.map((r) => (r.priority ? `${r.name} (priority ${r.priority})` : r.name)) }, 'routing rules reloaded');
    try {
      opts.onChange?.(next, previous);
    } catch (err) {
      log.error({ err }, 'routing rules onChange handler failed');
    }
    return { ok: true };
  }

  function schedule(): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      if (!closed) reload(false);
    }, debounceMs);
    timer.unref();
  }

  let watcher: fs.FSWatcher | null = null;
  try {
    watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
      // `..data` and friends: a Kubernetes ConfigMap swaps a symlinked directory.
      if (!name || name === base || name.startsWith('..')) schedule();
    });
    watcher.on('error', (err) => {
      log.warn({ err, path: dir }, 'watching the routing rules failed; falling back to polling');
      watcher?.close();
      watcher = null;
    });
  } catch (err) {
    log.warn({ err, path: dir }, 'cannot watch the routing rules; falling back to polling');
  }

  let poller: NodeJS.Timeout | null = null;
  if (pollMs > 0) {
    poller = setInterval(() => {
      fs.stat(file, (err, st) => {
        if (closed) return;
        const sig = err ? `error:${err.code}` : statSignature(st);
        if (sig !== lastSignature) schedule();
      });
    }, pollMs);
    poller.unref();
  }

  return {
    current: () => rules,
    reloadNow: () => reload(true),
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      if (poller) clearInterval(poller);
      watcher?.close();
      watcher = null;
    },
  };
}

function statSignature(st: fs.Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function signature(file: string): string {
  try {
    return statSignature(fs.statSync(file));
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code}`;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
