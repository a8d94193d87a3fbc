/**
 * A small process supervisor for `npm start` and the chaos suite: runs each role as a child,
 * prefixes its output, restarts it when it exits (capped exponential backoff, reset once it has
 * stayed up a while), and on stop sends SIGTERM to every child and SIGKILL to any still running
 * after the grace period. What systemd or Kubernetes do in production (see the README).
 *
 * Children run in process groups of their own, so a Ctrl-C reaches only the supervisor, which
 * stops them in order (a second signal arriving straight from the terminal would make them exit
 * without committing). If the supervisor itself dies, each child notices its parent is gone
 * (LEAD_ROUTER_PARENT_PID) and stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ProcessSpec {
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Where to write the child's output; default: this process's stdout/stderr, prefixed. */
  output?: (name: string, line: string, stream: 'out' | 'err') => void;
}

export interface SupervisorOptions {
  log(line: string): void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Up this long, a process's backoff starts over. */
  stableAfterMs?: number;
  graceMs?: number;
  /**
   * Runs when a process exits on its own (a crash, a kill), before it is restarted; the restart
   * waits for it, at most `beforeRestartMs`. `npm start` and the chaos suite remove the dead
   * process from its consumer groups here (src/ops/evict.ts): its partitions move to the live
   * members at once, not after its session timeout. Done before the restart, never after: the
   * restarted process has the same client id, and its new member must not be the one removed.
   */
  beforeRestart?(name: string): Promise<unknown>;
  beforeRestartMs?: number;
}

interface Supervised {
  spec: ProcessSpec;
  /** Stopped on purpose (a chaos fault): not restarted until resumed. */
  paused: boolean;
  child: ChildProcess | null;
  restarts: number;
  startedAt: number;
  backoffMs: number;
  timer: NodeJS.Timeout | null;
  exits: { at: number; code: number | null; signal: NodeJS.Signals | null }[];
}

export class Supervisor {
  private readonly procs = new Map<string, Supervised>();
  private stopping = false;
  private readonly initial: number;
  private readonly max: number;
  private readonly stableAfter: number;
  readonly graceMs: number;

  constructor(private readonly opts: SupervisorOptions) {
    this.initial = opts.initialBackoffMs ?? 1000;
    this.max = opts.maxBackoffMs ?? 30_000;
    this.stableAfter = opts.stableAfterMs ?? 60_000;
    this.graceMs = opts.graceMs ?? 12_000;
  }

  start(spec: ProcessSpec): void {
    if (this.procs.has(spec.name)) throw new Error(`supervisor: ${spec.name} already started`);
    const p: Supervised = { spec, paused: false, child: null, restarts: 0, startedAt: 0, backoffMs: this.initial, timer: null, exits: [] };
    this.procs.set(spec.name, p);
    this.launch(p);
  }

  private launch(p: Supervised): void {
    const { spec } = p;
    const child = spawn(spec.cmd, spec.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, LEAD_ROUTER_INSTANCE: spec.name, ...spec.env, LEAD_ROUTER_PARENT_PID: String(process.pid) },
    });
    p.child = child;
    p.startedAt = Date.now();
    const write = spec.output ?? ((name, line, stream) => (stream === 'out' ? process.stdout : process.stderr).write(`[${name}] ${line}\n`));
    const lines = (stream: 'out' | 'err') => {
      let rest = '';
      return (chunk: Buffer) => {
        const parts = (rest + chunk.toString()).split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) if (line) write(spec.name, line, stream);
      };
    };
    child.stdout?.on('data', lines('out'));
    child.stderr?.on('data', lines('err'));
    child.on('error', (err) => this.opts.log(`[${spec.name}] could not start: ${err.message}`));
    child.on('exit', (code, signal) => {
      p.child = null;
      p.exits.push({ at: Date.now(), code, signal });
      if (this.stopping || p.paused) return;
      if (Date.now() - p.startedAt >= this.stableAfter) p.backoffMs = this.initial;
      const delay = p.backoffMs;
      p.backoffMs = Math.min(this.max, p.backoffMs * 2);
      p.restarts++;
      this.opts.log(`[${spec.name}] exited (${signal ?? `code ${code}`}); restarting in ${(delay / 1000).toFixed(1)} s (restart ${p.restarts})`);
      const ready = this.beforeRestart(spec.name);
      p.timer = setTimeout(() => {
        void ready.then(() => {
          p.timer = null;
          if (!this.stopping && !p.paused && !p.child) this.launch(p);
        });
      }, delay);
    });
  }

  /** The beforeRestart hook, bounded; its failure is logged, and the restart goes ahead. */
  private beforeRestart(name: string): Promise<void> {
    const hook = this.opts.beforeRestart;
    if (!hook) return Promise.resolve();
    const limitMs = this.opts.beforeRestartMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.opts.log(`[${name}] before its restart: no answer within ${limitMs / 1000} s; restarting anyway`);
        resolve();
      }, limitMs);
    });
    const run = Promise.resolve()
      .then(() => hook(name))
      .then(
        () => undefined,
        (err: unknown) => this.opts.log(`[${name}] before its restart: ${err instanceof Error ? err.message : String(err)}; restarting anyway`),
      );
    return Promise.race([run, bound]).finally(() => clearTimeout(timer));
  }

  /** Sends a signal to a running process (chaos: SIGKILL); it is restarted like any exit. */
  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    const child = this.procs.get(name)?.child;
    if (!child || child.pid === undefined) return false;
    try {
      process.kill(-child.pid, signal); // the whole group: a role and anything it started
    } catch {
      return false;
    }
    return true;
  }

  /** Stops a process (SIGTERM) and keeps it stopped until resume(): a role that is down for a while. */
  pause(name: string): void {
    const p = this.procs.get(name);
    if (!p) return;
    p.paused = true;
    if (p.timer) clearTimeout(p.timer);
    this.signal(p, 'SIGTERM');
  }

  resume(name: string): void {
    const p = this.procs.get(name);
    if (!p || !p.paused) return;
    p.paused = false;
    if (!p.child) this.launch(p);
  }

  names(): string[] {
    return [...this.procs.keys()];
  }

  running(name: string): boolean {
    return this.procs.get(name)?.child != null;
  }

  restarts(): Record<string, number> {
    return Object.fromEntries([...this.procs].map(([n, p]) => [n, p.restarts]));
  }

  /** SIGTERM to all, SIGKILL to whoever is still there after the grace period. Resolves when all exited. */
  async stopAll(): Promise<{ killed: string[]; ms: number }> {
    const t0 = Date.now();
    this.stopping = true;
    for (const p of this.procs.values()) if (p.timer) clearTimeout(p.timer);
    const alive = [...this.procs.values()].filter((p) => p.child);
    const exited = alive.map((p) => new Promise<void>((resolve) => (p.child ? p.child.once('exit', () => resolve()) : resolve())));
    for (const p of alive) this.signal(p, 'SIGTERM');
    const killed: string[] = [];
    const grace = setTimeout(() => {
      for (const p of alive) {
        if (!p.child) continue;
        killed.push(p.spec.name);
        this.opts.log(`[${p.spec.name}] still running after ${this.graceMs / 1000} s; killing it`);
        this.signal(p, 'SIGKILL');
      }
    }, this.graceMs);
    await Promise.all(exited);
    clearTimeout(grace);
    return { killed, ms: Date.now() - t0 };
  }

  private signal(p: Supervised, signal: NodeJS.Signals): void {
    if (!p.child?.pid) return;
    try {
      process.kill(-p.child.pid, signal);
    } catch {
      try {
        p.child.kill(signal);
      } catch {
        /* gone */
      }
    }
  }
}
