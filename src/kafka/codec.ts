/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body), with schemas
 * registered in a Confluent-compatible registry over its REST API (see registerSubject);
 * @kafkajs/confluent-schema-registry fetches writer schemas by id (cached).
 * encoding and decoding are done here with one avsc Type and one resolver per writer id, so
 * the hot path never re-parses a schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { LeadEvent } from '../lead.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** schemas/avro, found from src/kafka or dist/kafka alike. */
export const SCHEMA_DIR = path.resolve(here, '..', '..', 'schemas', 'avro');

export function readSchema(file: string): string {
  return fs.readFileSync(path.join(SCHEMA_DIR, file), 'utf8');
}

/**
 * Registers a version under a subject and pins the subject to BACKWARD compatibility, over the
 * Confluent REST API. Not through the client's register(): it checks the subject's level and
 * sets it in two steps, so processes starting together race (one sees the subject another just
 * created, before its level is set, and refuses). Register, then PUT the level, is idempotent.
 */
async function registerSubject(registryUrl: string, subject: string, schema: string): Promise<number> {
  const headers = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
  const path = encodeURIComponent(subject);
  const res = await fetch(`${registryUrl}/subjects/${path}/versions`, { method: 'POST', headers, body: JSON.stringify({ schema }) });
  const body = (await res.json().catch(() => ({}))) as { id?: number; message?: string };
  if (!res.ok || typeof body.id !== 'number') throw new Error(`HTTP ${res.status}: ${body.message ?? 'no schema id in the answer'}`);
  const level = await fetch(`${registryUrl}/config/${path}`, { method: 'PUT', headers, body: JSON.stringify({ compatibility: 'BACKWARD' }) });
  if (!level.ok) throw new Error(`setting BACKWARD compatibility: HTTP ${level.status} ${await level.text()}`);
  return body.id;
}

export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

export interface Codec<T> {
  encode(topic: string, value: T): Buffer;
  decode(buffer: Buffer | null): Promise<T>;
}

export type LeadCodec = Codec<LeadEvent>;

/** The lead-event schema on every lead topic. */
export function createLeadCodec(registryUrl: string, topics: string[]): Promise<LeadCodec> {
  return createCodec<LeadEvent>(registryUrl, 'lead-event.avsc', topics);
}

/**
 * Registers a schema from schemas/avro under `<topic>-value` for every topic given (BACKWARD
 * compatibility) and returns a codec bound to those ids.
 */
export async function createCodec<T>(registryUrl: string, schemaFile: string, topics: string[]): Promise<Codec<T>> {
  const registry = new SchemaRegistry({ host: registryUrl, retry: { retries: 2 } });
  const schemaText = readSchema(schemaFile);
  const readerType = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema);
  const idByTopic = new Map<string, number>();
  for (const topic of topics) {
    try {
      idByTopic.set(topic, await registerSubject(registryUrl, `${topic}-value`, schemaText));
    } catch (err) {
      throw new Error(`schema registry ${registryUrl}: cannot register ${topic}-value: ${(err as Error).message}`);
    }
  }
  const ownIds = new Set(idByTopic.values());
  const resolvers = new Map<number, ReturnType<avro.Type['createResolver']>>();

  async function resolverFor(id: number): Promise<ReturnType<avro.Type['createResolver']> | null> {
    if (ownIds.has(id)) return null; // written with our own schema: no resolving needed
    let resolver = resolvers.get(id);
    if (!resolver) {
      const writer = (await registry.getSchema(id)) as unknown as avro.Type;
      resolver = readerType.createResolver(writer);
      resolvers.set(id, resolver);
    }
    return resolver;
  }

  return {
    encode(topic, value) {
      const id = idByTopic.get(topic);
      if (id === undefined) throw new Error(`codec: no ${schemaFile} schema registered for topic ${topic}`);
      const body = readerType.toBuffer(value);
      const header = Buffer.alloc(5);
      header.writeUInt8(0, 0);
      header.writeInt32BE(id, 1);
      return Buffer.concat([header, body]);
    },
    async decode(buffer) {
      if (!buffer || buffer.length < 5 || buffer.readUInt8(0) !== 0) {
        throw new PoisonMessageError('not in Confluent wire format (no magic byte 0)');
      }
      const id = buffer.readInt32BE(1);
      let resolver;
      try {
        resolver = await resolverFor(id);
      } catch (err) {
        throw new PoisonMessageError(`unknown or incompatible writer schema id ${id}: ${(err as Error).message}`);
      }
      try {
        const body = buffer.subarray(5);
        return (resolver ? readerType.fromBuffer(body, resolver) : readerType.fromBuffer(body)) as T;
      } catch (err) {
        throw new PoisonMessageError(`Avro body does not decode: ${(err as Error).message}`);
      }
    },
  };
}
