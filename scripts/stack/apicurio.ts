import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { INSTALLED_MARKER, type StackConfig, StackError } from './config.js';
import { type Jdk, type Service, baseEnv, findJdk, httpJson, jitFlags, mkdirp, modernJdkFlags, mvnFetch, readMarker, requireTool, run, spawnDetached } from './util.js';

/** Apicurio Registry 3.x (Confluent-compatible API at /apis/ccompat/v7), in-memory, from Maven Central; needs Java 21+. */

export function apicurioService(cfg: StackConfig): Service {
  const dir = path.join(cfg.dir, 'apicurio');
  const dist = path.join(dir, 'dist');
  const tmpDir = path.join(dir, 'tmp');
  let jdk: Jdk | undefined;
  const url = `http://${cfg.host}:${cfg.registryPort}/apis/ccompat/v7`;
  return {
    name: 'apicurio',
    dir,
    pidFile: path.join(dir, 'apicurio.pid'),
    logs: [path.join(dir, 'apicurio.log')],
    ports: [
      { port: cfg.registryPort, env: 'STACK_REGISTRY_PORT' },
      { port: cfg.registryMgmtPort, env: 'STACK_REGISTRY_MGMT_PORT' },
    ],
    address: url,
    dataDirs: [tmpDir], // storage is in-memory: a restart is a clean slate
    needs: 'mvn',
    stopTimeoutMs: 20_000,
    installed: () => fs.existsSync(path.join(dist, 'quarkus-run.jar')) && readMarker(path.join(dist, INSTALLED_MARKER)) === cfg.versions.apicurio,
    async install(ctx) {
      const dl = await mvnFetch(ctx);
      const archive = path.join(dl, `apicurio-registry-app-${cfg.versions.apicurio}-all.tar.gz`);
      if (!fs.existsSync(archive)) throw new StackError(`apicurio: ${path.basename(archive)} missing after mvn (see ${ctx.installLog})`);
      const tmp = path.join(dir, '.dist-tmp');
      fs.rmSync(tmp, { recursive: true, force: true });
      mkdirp(tmp);
      await run(requireTool('tar', 'install tar'), ['-xzf', archive, '-C', tmp], { logFile: ctx.installLog, what: 'apicurio: untar' });
      if (!fs.existsSync(path.join(tmp, 'quarkus-run.jar'))) throw new StackError(`apicurio: quarkus-run.jar not in ${path.basename(archive)}`);
      fs.writeFileSync(path.join(tmp, INSTALLED_MARKER), cfg.versions.apicurio);
      fs.rmSync(dist, { recursive: true, force: true });
      fs.renameSync(tmp, dist);
      fs.rmSync(archive, { force: true });
    },
    async prepare() {
      // Apicurio Registry 3.x is compiled for Java 21 (class file 65)
      jdk = findJdk(21, 'STACK_JAVA21_HOME', `Apicurio Registry ${cfg.versions.apicurio}`);
      fs.rmSync(tmpDir, { recursive: true, force: true });
      mkdirp(tmpDir);
    },
    launch() {
      const sys = {
        'quarkus.http.host': cfg.host,
        'quarkus.http.port': String(cfg.registryPort),
        // health/metrics management interface (build-time enabled; default 0.0.0.0:9000)
        'quarkus.management.host': cfg.host,
        'quarkus.management.port': String(cfg.registryMgmtPort),
        'quarkus.log.console.format': '%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n',
        // in-memory H2 (the default storage): trim the pool for a dev box
        'apicurio.storage.kind': 'sql',
        'apicurio.storage.sql.kind': 'h2',
        'apicurio.datasource.jdbc.initial-size': '2',
        'apicurio.datasource.jdbc.min-size': '2',
        'apicurio.datasource.jdbc.max-size': '20',
        'apicurio.storage.snapshot.location': tmpDir,
        'apicurio.import.work-dir': tmpDir,
        // dev/test convenience: allow DELETE /subjects/... through the ccompat API
        'apicurio.rest.deletion.group.enabled': 'true',
        'apicurio.rest.deletion.artifact.enabled': 'true',
        'apicurio.rest.deletion.artifact-version.enabled': 'true',
        // no auth (these are the defaults, spelled out)
        'apicurio.authn.basic-client-credentials.enabled': 'false',
        'quarkus.oidc.tenant-enabled': 'false',
        'apicurio.auth.role-based-authorization': 'false',
      };
      const child = spawnDetached(
        jdk!.java,
        [
          '-Xms64m',
          `-Xmx${cfg.registryHeap}`,
          ...modernJdkFlags(jdk!),
          '-XX:+UseSerialGC',
          ...jitFlags(),
          '-Xshare:auto',
          '-XX:+ExitOnOutOfMemoryError',
          `-Djava.io.tmpdir=${tmpDir}`,
          ...Object.entries(sys).map(([k, v]) => `-D${k}=${v}`),
          '-jar',
          path.join(dist, 'quarkus-run.jar'),
        ],
        { cwd: dir, env: baseEnv(), logFile: path.join(dir, 'apicurio.log') },
      );
      return { child };
    },
    async probe() {
      const r = await httpJson(`${url}/subjects`);
      return r.status === 200 && Array.isArray(r.body);
    },
    /**
     * Confluent Schema Registry defaults to global BACKWARD compatibility, Apicurio to none; storage is
     * in-memory, so set it on every start (STACK_REGISTRY_COMPATIBILITY, default BACKWARD; 'none' to skip).
     */
    async afterReady() {
      const level = (process.env.STACK_REGISTRY_COMPATIBILITY || 'BACKWARD').toUpperCase();
      if (level === 'NONE') return;
      const res = await fetch(`${url}/config`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ compatibility: level }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new StackError(`apicurio: PUT ${url}/config {compatibility: ${level}} -> ${res.status} ${await res.text()}`);
    },
  };
}
