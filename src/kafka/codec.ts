/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body). Schemas are
 * registered at start-up (src/kafka/registry.ts); encoding and decoding use one avsc Type and one
 * resolver per writer id, so the hot path never re-parses a schema or asks the registry.
 *
 * Encoding validates first: a value that does not fit its schema is a SchemaError naming the
 * field, so the stage dead-letters that one lead instead of failing the whole batch. Decoding
 * tells bytes that can never be read (PoisonMessageError) from a registry that is briefly down
 * (RetriableError): a valid lead is never dead-lettered because of an outage.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { PoisonMessageError, RetriableError } from '../errors.js';
import type { LeadEvent } from '../lead.js';
import { fetchSchemaById, registerSubject } from './registry.js';

export { PoisonMessageError } from '../errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** schemas/avro, found from src/kafka or dist/kafka alike. */
export const SCHEMA_DIR = path.resolve(here, '..', '..', 'schemas', 'avro');

export function readSchema(file: string): string {
  return fs.readFileSync(path.join(SCHEMA_DIR, file), 'utf8');
}

/** A value that does not fit the topic's schema; `fields` are the paths that do not. */
export class SchemaError extends Error {
  override name = 'SchemaError';
}

export interface Codec<T> {
  /** The topics this codec registered a schema for. */
  readonly topics: readonly string[];
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
  const schemaText = readSchema(schemaFile);
  const readerType = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema);
  // Every subject at once: one after the other, the lead topics' two round trips each (30 with
  // the retry topics) add up on a loaded machine, and a restarted role's partitions wait for them
  // (chaos: 2.5-4.7 s from 'creating missing topics, registering schemas' to its stages starting).
  const ids = await Promise.all(
    topics.map((topic) =>
      registerSubject(registryUrl, `${topic}-value`, schemaText).catch((err: unknown) => {
        throw new Error(`schema registry ${registryUrl}: ${(err as Error).message}`);
      }),
    ),
  );
  const idByTopic = new Map(topics.map((topic, i) => [topic, ids[i]!]));
  return codecFor<T>(readerType, idByTopic, (id) => fetchSchemaById(registryUrl, id));
}

type WriterLookup = (id: number) => Promise<{ found: true; schema: string } | { found: false; reason: string }>;
type Resolver = ReturnType<avro.Type['createResolver']>;

/** The codec itself, over already-registered ids (exported for tests with a fake registry). */
export function codecFor<T>(readerType: avro.Type, idByTopic: Map<string, number>, lookupWriter: WriterLookup): Codec<T> {
  const ownIds = new Set(idByTopic.values());
  const resolvers = new Map<number, Resolver | PoisonMessageError>();

  async function resolverFor(id: number): Promise<Resolver | null> {
    if (ownIds.has(id)) return null; // written with our own schema: no resolving needed
    let resolver = resolvers.get(id);
    if (!resolver) {
      const writer = await lookupWriter(id); // throws RetriableError when the registry is unwell
      if (!writer.found) resolver = new PoisonMessageError(`unknown writer schema: ${writer.reason}`);
      else {
        try {
          resolver = readerType.createResolver(avro.Type.forSchema(JSON.parse(writer.schema) as avro.Schema));
        } catch (err) {
          resolver = new PoisonMessageError(`writer schema id ${id} cannot be read as ${readerType.name ?? 'our schema'}: ${(err as Error).message}`);
        }
      }
      resolvers.set(id, resolver); // both answers are final for this id
    }
    if (resolver instanceof PoisonMessageError) throw resolver;
    return resolver;
  }

  return {
    topics: [...idByTopic.keys()],
    encode(topic, value) {
      const id = idByTopic.get(topic);
      if (id === undefined) throw new Error(`codec: no schema registered for topic ${topic}`);
      const invalid: string[] = [];
      if (!readerType.isValid(value, { errorHook: (p) => invalid.push(p.join('.') || '(root)') })) {
        throw new SchemaError(`does not fit the ${topic} schema at ${[...new Set(invalid)].slice(0, 5).join(', ')}`);
      }
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
      const resolver = await resolverFor(id);
      try {
        const body = buffer.subarray(5);
        return (resolver ? readerType.fromBuffer(body, resolver) : readerType.fromBuffer(body)) as T;
      } catch (err) {
        throw new PoisonMessageError(`Avro body does not decode: ${(err as Error).message}`);
      }
    },
  };
}

/** Encodes for several topics with the codec that registered each (lead topics, events, opt-outs). */
export interface Encoder {
  encode(topic: string, value: unknown): Buffer;
}

export function combineEncoders(...codecs: Codec<any>[]): Encoder { // eslint-disable-line @typescript-eslint/no-explicit-any
  const byTopic = new Map<string, Codec<unknown>>();
  for (const c of codecs as Codec<unknown>[]) for (const t of c.topics) byTopic.set(t, c);
  return {
    encode(topic, value) {
      const codec = byTopic.get(topic);
      // Topics without a schema (the poison topic) carry bytes as they came.
      if (!codec && Buffer.isBuffer(value)) return value;
      if (!codec) throw new Error(`codec: no schema registered for topic ${topic}`);
      return codec.encode(topic, value);
    },
  };
}

export { RetriableError };
