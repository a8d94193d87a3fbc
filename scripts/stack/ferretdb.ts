import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FERRETDB_MODULE, stackEndpoints, type StackConfig, StackError } from './config.js';
import { type Service, baseEnv, makeWritable, mkdirp, requireTool, run, spawnDetached, which, withTimeout } from './util.js';

/**
 * FerretDB 1.x (MongoDB wire protocol) on PostgreSQL, built from the Go module proxy. Its
 * `postgresql` handler needs no extension; each collection is a table with real indexes, and
 * many writers do not queue behind one lock as they did on its SQLite handler (which wedged under
 * the history's concurrent writes). PostgreSQL comes from scripts/stack/postgres.ts.
 */

export function ferretdbService(cfg: StackConfig): Service {
  const dir = path.join(cfg.dir, 'ferretdb');
  const state = path.join(dir, 'state');
  const want = cfg.versions.ferretdb;
  let bin: string | undefined;

  const works = (p: string): boolean => {
    if (!fs.existsSync(p)) return false;
    const r = spawnSync(p, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 && r.stdout.includes(`version: ${want}`);
  };
  const defaultBinCandidates = (): string[] => {
    const c: string[] = [];
    if (process.env.GOBIN) c.push(path.join(process.env.GOBIN, 'ferretdb'));
    for (const gp of (process.env.GOPATH ?? '').split(path.delimiter)) if (gp) c.push(path.join(gp, 'bin', 'ferretdb'));
    c.push(path.join(os.homedir(), 'go', 'bin', 'ferretdb'));
    return c;
  };
  const locate = (): string | undefined => {
    const forced = process.env.STACK_FERRETDB_BIN;
    if (forced) {
      if (!works(forced)) throw new StackError(`STACK_FERRETDB_BIN=${forced} is not a working FerretDB ${want}`);
      return forced;
    }
    return defaultBinCandidates().find(works);
  };

  return {
    name: 'ferretdb',
    dir,
    pidFile: path.join(dir, 'ferretdb.pid'),
    logs: [path.join(dir, 'ferretdb.log')],
    ports: [
      { port: cfg.mongoPort, env: 'STACK_MONGO_PORT' },
      { port: cfg.ferretdbDebugPort, env: 'STACK_FERRETDB_DEBUG_PORT' },
    ],
    address: `mongodb://${cfg.host}:${cfg.mongoPort}/`,
    dataDirs: [state], // the data itself is in PostgreSQL
    dependsOn: ['postgres'],
    needs: 'go',
    stopTimeoutMs: 15_000,
    installed: () => (bin ??= locate()) !== undefined,
    /**
     * `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.0` does not work: (1) it asks the
     * proxy for the module's version list (deprecation check), which proxy.golang.org refuses (403);
     * (2) the module zip lacks the generated build/version/version.txt, so such a binary panics at
     * start. So: fetch the exact module with `go mod download` (checksum-verified), add version.txt,
     * build it with its own go.mod/go.sum, install into $(go env GOPATH)/bin/ferretdb.
     */
    async install(ctx) {
      const go = requireTool('go', `install Go 1.22+ (https://go.dev/dl); needed once to build FerretDB ${want}`, ['/usr/local/go/bin/go']);
      const goEnv = (k: string) => spawnSync(go, ['env', k], { encoding: 'utf8' }).stdout.trim();
      const gobin = goEnv('GOBIN') || path.join(goEnv('GOPATH').split(path.delimiter)[0] || path.join(os.homedir(), 'go'), 'bin');
      const out = path.join(gobin, 'ferretdb');
      const dl = spawnSync(go, ['mod', 'download', '-json', `${FERRETDB_MODULE}@${want}`], {
        encoding: 'utf8',
        cwd: os.tmpdir(),
        env: { ...process.env, GOFLAGS: '-mod=mod' },
        maxBuffer: 16 * 1024 * 1024,
      });
      fs.appendFileSync(ctx.installLog, `\n$ go mod download -json ${FERRETDB_MODULE}@${want}\n${dl.stdout}${dl.stderr}`);
      let modDir: string | undefined;
      try {
        const j = JSON.parse(dl.stdout) as { Dir?: string; Error?: string };
        if (j.Error) throw new Error(j.Error);
        modDir = j.Dir;
      } catch (e) {
        throw new StackError(`ferretdb: go mod download ${FERRETDB_MODULE}@${want} failed: ${(e as Error).message} ${dl.stderr.trim()}`);
      }
      if (!modDir) throw new StackError(`ferretdb: go mod download gave no module dir`);
      const src = path.join(dir, '.build-src');
      fs.rmSync(src, { recursive: true, force: true });
      fs.cpSync(modDir, src, { recursive: true });
      makeWritable(src);
      fs.writeFileSync(path.join(src, 'build', 'version', 'version.txt'), `${want}\n`);
      fs.writeFileSync(path.join(src, 'build', 'version', 'package.txt'), `lead-router-stack\n`);
      mkdirp(gobin);
      await run(go, ['build', '-trimpath', '-mod=mod', '-o', out, './cmd/ferretdb'], {
        cwd: src,
        logFile: ctx.installLog,
        what: `ferretdb: go build ${FERRETDB_MODULE}/cmd/ferretdb@${want}`,
      });
      fs.rmSync(src, { recursive: true, force: true });
      if (!works(out)) throw new StackError(`ferretdb: built ${out} but \`${out} --version\` does not report ${want}`);
      bin = out;
    },
    async prepare() {
      bin ??= locate();
      if (!bin) throw new StackError(`ferretdb: binary not found`);
      mkdirp(state);
    },
    launch() {
      const child = spawnDetached(
        bin!,
        [
          '--handler=postgresql',
          // A bigger pool than FerretDB's 50: every open cursor holds one (see src/mongo-ops.ts).
          `--postgresql-url=${stackEndpoints(cfg).postgresUrl}?pool_max_conns=120`,
          `--listen-addr=${cfg.host}:${cfg.mongoPort}`,
          `--debug-addr=${cfg.host}:${cfg.ferretdbDebugPort}`,
          `--state-dir=${state}`,
          '--telemetry=disable',
          '--log-level=info',
        ],
        { cwd: dir, env: baseEnv(), logFile: path.join(dir, 'ferretdb.log') },
      );
      return { child };
    },
    async probe() {
      const { MongoClient } = await import('mongodb');
      const client = new MongoClient(`mongodb://${cfg.host}:${cfg.mongoPort}/`, {
        directConnection: true,
        serverSelectionTimeoutMS: 1500,
        connectTimeoutMS: 1500,
      });
      try {
        const r = await withTimeout(client.db('admin').command({ ping: 1 }), 4000);
        return r.ok === 1;
      } finally {
        await client.close().catch(() => undefined);
      }
    },
  };
}
