/**
 * PostgreSQL for FerretDB's `postgresql` handler: Debian's server binaries (apt-get install
 * postgresql), a private cluster of our own, bound to 127.0.0.1 on its own port (5433, so a
 * system PostgreSQL on 5432 is left alone), trust auth on loopback only. PostgreSQL refuses to run
 * as root, so as root it runs as the `postgres` system user, in a folder that user can reach.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { StackError, type StackConfig } from './config.js';
import { baseEnv, chownR, mkdirp, privateServiceDir, runAsSystemUser, spawnDetached, type RunAs, type Service } from './util.js';

/** The newest server found: $STACK_PG_BIN_DIR, `pg_config --bindir`, or /usr/lib/postgresql/<v>/bin. */
function findBinDir(): string | undefined {
  const has = (d: string) => fs.existsSync(path.join(d, 'postgres')) && fs.existsSync(path.join(d, 'initdb'));
  if (process.env.STACK_PG_BIN_DIR) return has(process.env.STACK_PG_BIN_DIR) ? process.env.STACK_PG_BIN_DIR : undefined;
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => has(path.join(base, v, 'bin'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions[0]) return path.join(base, versions[0], 'bin');
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  return r.status === 0 && has(r.stdout.trim()) ? r.stdout.trim() : undefined;
}

export function postgresService(cfg: StackConfig): Service {
  const dir = privateServiceDir(cfg, 'postgres', process.env.STACK_PG_DIR);
  const data = path.join(dir, 'data');
  let bin: string | undefined;
  let runAs: RunAs | undefined;
  const as = () => (runAs ? { uid: runAs.uid, gid: runAs.gid } : {});
  const tool = (name: string) => {
    bin ??= findBinDir();
    if (!bin) throw new StackError('postgres: PostgreSQL server binaries not found: apt-get install -y postgresql (or set STACK_PG_BIN_DIR)');
    return path.join(bin, name);
  };
  const psql = (sql: string, db = 'postgres') =>
    spawnSync(tool('psql'), ['-h', cfg.host, '-p', String(cfg.pgPort), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { encoding: 'utf8', timeout: 60_000, ...as() });

  return {
    name: 'postgres',
    dir,
    pidFile: path.join(dir, 'postgres.pid'),
    logs: [path.join(dir, 'postgres.log')],
    ports: [{ port: cfg.pgPort, env: 'STACK_PG_PORT' }],
    address: `postgres://postgres@${cfg.host}:${cfg.pgPort}/`,
    dataDirs: [data],
    stopTimeoutMs: 20_000,
    // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") would wait for FerretDB to hang up.
    stopSignal: 'SIGINT',
    installed: () => (bin ??= findBinDir()) !== undefined,
    async install() {
      throw new StackError('postgres: PostgreSQL server binaries not found: apt-get install -y postgresql (or set STACK_PG_BIN_DIR)');
    },
    async prepare() {
      bin ??= findBinDir();
      runAs = runAsSystemUser('postgres');
      mkdirp(dir);
      if (runAs) chownR(dir, runAs.uid, runAs.gid);
      if (fs.existsSync(path.join(data, 'PG_VERSION'))) return;
      const r = spawnSync(tool('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
        encoding: 'utf8',
        cwd: dir,
        env: baseEnv(),
        ...as(),
      });
      if (r.status !== 0) throw new StackError(`postgres: initdb failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' ')}`);
    },
    launch() {
      const child = spawnDetached(
        tool('postgres'),
        [
          '-D', data,
          '-k', dir, // the Unix socket stays in our folder, not /var/run
          '-p', String(cfg.pgPort),
          '-c', `listen_addresses=${cfg.host}`,
          '-c', 'max_connections=200',
          '-c', 'shared_buffers=128MB',
          '-c', 'logging_collector=off',
          // FerretDB's queries name the field as a parameter; custom plans let the GIN indexes below match.
          '-c', 'plan_cache_mode=force_custom_plan',
        ],
        { cwd: dir, env: baseEnv(), logFile: path.join(dir, 'postgres.log'), ...as() },
      );
      return { child };
    },
    async probe() {
      const r = spawnSync(tool('pg_isready'), ['-h', cfg.host, '-p', String(cfg.pgPort), '-U', 'postgres', '-t', '2'], { encoding: 'utf8', timeout: 5000 });
      return r.status === 0;
    },
    async afterReady() {
      // FerretDB keeps its data in this database; create it once.
      if (psql("SELECT 1 FROM pg_database WHERE datname = 'ferretdb'").stdout.trim() !== '1') {
        const r = psql('CREATE DATABASE ferretdb');
        if (r.status !== 0 && !/already exists/.test(r.stderr)) throw new StackError(`postgres: cannot create database ferretdb: ${r.stderr.trim()}`);
      }
      const r = psql(GIN_COMPANIONS, 'ferretdb');
      if (r.status !== 0) throw new StackError(`postgres: cannot install the index trigger: ${r.stderr.trim()}`);
    },
  };
}

/**
 * FerretDB 1.x filters on a field with `_jsonb -> 'field' @> value`, which the btree indexes it
 * creates cannot serve: every find, by _id too, is a sequential scan, so reads slow down as the
 * history grows (35 ms at 15,000 events, seconds at millions). A GIN index on the same expression
 * can. This event trigger gives every btree index FerretDB creates on a field a GIN companion on its
 * first field (and the statement below adds the missing ones), so createIndex in the app is enough.
 * Real MongoDB (docker-compose) needs none of this.
 */
const GIN_COMPANIONS = `
CREATE OR REPLACE FUNCTION lead_router_gin_companion() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record; m text[];
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' LOOP
    m := regexp_match(pg_get_indexdef(r.objid), 'ON (\\S+) USING btree \\(\\(\\(_jsonb -> ''([^'']+)''::text\\)\\)');
    CONTINUE WHEN m IS NULL;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L))', 'gin_' || substr(md5(r.object_identity), 1, 24), m[1], m[2]);
  END LOOP;
END $$;
DROP EVENT TRIGGER IF EXISTS lead_router_gin_companion;
CREATE EVENT TRIGGER lead_router_gin_companion ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION lead_router_gin_companion();
DO $$
DECLARE i record; m text[];
BEGIN
  FOR i IN SELECT schemaname, indexname, indexdef FROM pg_indexes WHERE indexdef LIKE '%USING btree (((_jsonb -> %' LOOP
    m := regexp_match(i.indexdef, 'ON (\\S+) USING btree \\(\\(\\(_jsonb -> ''([^'']+)''::text\\)\\)');
    CONTINUE WHEN m IS NULL;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L))', 'gin_' || substr(md5(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname)), 1, 24), m[1], m[2]);
  END LOOP;
END $$;
`;
