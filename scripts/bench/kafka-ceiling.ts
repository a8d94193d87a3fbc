/**
 * The physical ceiling: Kafka's own producer benchmark (kafka-producer-perf-test's
 * ProducerPerformance class, from org.apache.kafka:kafka-tools on Maven Central, cached in ~/.m2)
 * against the broker the router just used, with the router's durability: acks=all, idempotent.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export async function kafkaCeiling(opts: { outDir: string; env: NodeJS.ProcessEnv; log(l: string): void }): Promise<string> {
  const version = /<kafka\.version>([^<]+)</.exec(fs.readFileSync('stack/pom.xml', 'utf8'))?.[1];
  if (!version) throw new Error('no kafka.version in stack/pom.xml');
  const toolsDir = path.join(opts.outDir, 'kafka-tools');
  fs.mkdirSync(toolsDir, { recursive: true });
  const pom = path.join(toolsDir, 'pom.xml');
  fs.writeFileSync(
    pom,
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>lr</groupId><artifactId>bench-tools</artifactId><version>1</version>
<dependencies><dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${version}</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>1.7.36</version></dependency></dependencies></project>`,
  );
  const mvn = spawnSync('mvn', ['-B', '-q', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(toolsDir, 'libs')}`], { encoding: 'utf8' });
  if (mvn.status !== 0) throw new Error(`mvn: ${mvn.stdout.slice(-300)}`);
  const endpoints = spawnSync('npx', ['tsx', 'scripts/stack.ts', 'env'], { env: opts.env, encoding: 'utf8' }).stdout;
  const brokers = /KAFKA_BROKERS=(\S+)/.exec(endpoints)?.[1] ?? '127.0.0.1:9092';
  const topic = `bench-ceiling-${Date.now().toString(36)}`;
  const java = 'java';
  const cp = `${path.join(toolsDir, 'libs')}/*`;
  // The topic the records go to, six partitions like the router's.
  spawnSync(java, ['-cp', cp, 'org.apache.kafka.tools.TopicCommand', '--bootstrap-server', brokers, '--create', '--topic', topic, '--partitions', '6'], { encoding: 'utf8' });
  opts.log('kafka ceiling: 300,000 records of 800 bytes, acks=all, idempotent, linger 5 ms');
  const perf = spawnSync(
    java,
    ['-cp', cp, 'org.apache.kafka.tools.ProducerPerformance', '--topic', topic, '--num-records', '300000', '--record-size', '800', '--throughput', '-1', '--producer-props', `bootstrap.servers=${brokers}`, 'acks=all', 'enable.idempotence=true', 'linger.ms=5'],
    { encoding: 'utf8', timeout: 300_000 },
  );
  const summary = perf.stdout.trim().split('\n').at(-1) ?? '';
  const m = /([\d.]+) records\/sec.*?([\d.]+) ms avg latency.*?([\d.]+) ms 99th/.exec(summary);
  if (!m) throw new Error(`ProducerPerformance: ${summary || perf.stderr.slice(-300)}`);
  const perSec = Number(m[1]);
  return `${Math.round(perSec).toLocaleString('en-US')} records/s (${Math.round((perSec * 60) / 5).toLocaleString('en-US')} leads/min at ~5 records per lead), avg ${m[2]} ms, p99 ${m[3]} ms`;
}
