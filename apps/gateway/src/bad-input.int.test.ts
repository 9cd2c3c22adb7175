// Bad input against every route the gateway registers (issue 5): the routes are discovered from the
// running gateway (its router), their schemas from the gateway itself (each route's own schema as
// the request sees it, else the OpenAPI documents it serves: the native one and the Petstore
// contract), and each endpoint gets input generated from them — wrong types, missing fields,
// unknown enum values, negative and out-of-range numbers, strings too long, SQL and script
// fragments where the schema forbids them, unknown properties, prototype pollution, malformed
// JSON, wrong content types, bodies over the limit — as an admin, so that authorization masks
// nothing. Every answer must be a 4xx problem+json naming the bad field where it is a validation
// error, never a 5xx, and the event store must not move. Routes added later are covered as they
// come: nothing here lists them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { projections } from '../../projector/src/projections.js';
import { knownContexts } from '../../worker/src/contexts.js';
import { start as startWorker } from '../../worker/src/main.js';
import { buildGatewayApp } from './app.js';
import type { Auth } from './auth/index.js';
import { loadGatewayConfig } from './config.js';

type Schema = Record<string, unknown>;

interface RouteSchemas {
  params?: Schema;
  querystring?: Schema;
  headers?: Schema;
  body?: Schema;
}

interface Route {
  readonly method: string;
  /** As registered: `/api/products/:sku`. */
  readonly url: string;
  schemas: RouteSchemas;
  bodyLimit: number | undefined;
  source: 'route' | 'openapi' | 'none';
}

interface Probe {
  readonly name: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** invalid: must be refused (4xx); safe: a read that may succeed, but never with a 5xx. */
  readonly expect: 'invalid' | 'safe';
  /** The field a validation error must name (its last path segment). */
  readonly field?: string;
  /** An exact status the answer must have. */
  readonly status?: number;
}

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

const SQL = "'; DROP TABLE events; --";
const SCRIPT = '<script>alert(1)</script>';
const PHOTO_MAX_BYTES = 64 * 1024;
const DEFAULT_BODY_LIMIT = 1024 * 1024;
const UNKNOWN = 'zz_unknown';
/** BAD_INPUT_VERBOSE=1 lists every probe and its answer. */
const verbose = process.env.BAD_INPUT_VERBOSE === '1';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
// The gateway's two validators (platform http-server.ts): bodies strictly, text parts coerced.
const bodyAjv = addFormats(new Ajv({ strict: false, allErrors: true, coerceTypes: false }));
const textAjv = addFormats(new Ajv({ strict: false, allErrors: true, coerceTypes: 'array' }));
const compiled = {
  body: new WeakMap<object, ValidateFunction>(),
  text: new WeakMap<object, ValidateFunction>(),
};
/** Whether `value` fits `schema` (as the gateway would coerce it for a text part). */
function fits(schema: Schema, value: unknown, text: boolean): boolean {
  const cache = text ? compiled.text : compiled.body;
  let validate = cache.get(schema);
  try {
    validate ??= (text ? textAjv : bodyAjv).compile(schema);
  } catch {
    return false;
  }
  cache.set(schema, validate);
  return validate(structuredClone(value));
}

const typesOf = (schema: Schema): string[] => {
  const { type } = schema;
  if (Array.isArray(type)) return type as string[];
  if (typeof type === 'string') return [type];
  if (schema.properties) return ['object'];
  if (schema.items) return ['array'];
  return [];
};

const stringCandidates = [
  'Abc',
  'ABC-1',
  'abc123',
  '12345',
  'a@example.com',
  'https://example.com/a.png',
  '2026-01-01T00:00:00Z',
  '2026-01-01',
  '0123456789abcdef'.repeat(4),
  'x',
];

/** A value that fits the schema, as well as can be guessed (undefined when none is found). */
function validValue(schema: Schema, text = false, depth = 0): unknown {
  if (depth > 6) return undefined;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('default' in schema && fits(schema, schema.default, text)) return schema.default;
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0)
      return validValue(options[0] as Schema, text, depth + 1);
  }
  const type = typesOf(schema).find((t) => t !== 'null');
  switch (type) {
    case 'string': {
      for (const candidate of stringCandidates) if (fits(schema, candidate, text)) return candidate;
      const min = typeof schema.minLength === 'number' ? schema.minLength : 1;
      return 'a'.repeat(Math.max(1, min));
    }
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : 1;
      return Math.max(min, 1) <= (typeof schema.maximum === 'number' ? schema.maximum : Infinity)
        ? Math.max(min, 1)
        : min;
    }
    case 'boolean':
      return true;
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const item = schema.items && typeof schema.items === 'object' ? (schema.items as Schema) : {};
      return Array.from({ length: min }, () => validValue(item, text, depth + 1));
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      return Object.fromEntries(
        required.map((name) => [name, validValue(properties[name] ?? { type: 'string' }, text, depth + 1)]),
      );
    }
    default:
      return 'x';
  }
}

/** Values of the wrong type, out of range, of an unknown enum, too long, or forbidden text. */
function badValues(schema: Schema, text: boolean): { name: string; value: unknown }[] {
  const out: { name: string; value: unknown }[] = [];
  const types = typesOf(schema);
  const add = (name: string, value: unknown) => {
    if (!fits(schema, value, text)) out.push({ name, value });
  };
  if (types.includes('string')) {
    if (Array.isArray(schema.enum)) add('unknown enum value', 'NOT_A_VALUE');
    if (typeof schema.maxLength === 'number') add('too long', 'A'.repeat(schema.maxLength + 1));
    add('SQL fragment', SQL);
    add('script fragment', SCRIPT);
    add('empty', '');
    if (!text) add('wrong type (number)', 12345);
    if (!text) add('wrong type (object)', { [UNKNOWN]: 1 });
  }
  if (types.includes('integer') || types.includes('number')) {
    add('negative', -1);
    if (typeof schema.minimum === 'number') add('below minimum', schema.minimum - 1);
    if (typeof schema.maximum === 'number') add('above maximum', schema.maximum + 1);
    if (types.includes('integer')) add('fraction', 1.5);
    add('wrong type (text)', text ? 'abc' : '12');
    add('SQL fragment', SQL);
  }
  if (types.includes('boolean')) add('wrong type (text)', text ? 'maybe' : 'true');
  if (types.includes('array')) {
    add('wrong type (text)', 'x');
    if (typeof schema.maxItems === 'number') {
      const item = validValue((schema.items ?? {}) as Schema, text);
      add(
        'too many items',
        Array.from({ length: schema.maxItems + 1 }, () => item),
      );
    }
    const items = schema.items as Schema | undefined;
    if (items && !text) {
      for (const bad of badValues(items, text).slice(0, 2)) add(`item ${bad.name}`, [bad.value]);
    }
  }
  if (types.includes('object') && !text) {
    add('wrong type (array)', []);
    add('wrong type (text)', 'x');
  }
  if (types.length === 0 && !text) add('SQL fragment', SQL);
  return out;
}

/** Inlines `$ref`s of an OpenAPI document (cycles end in `{}`). */
function resolveRefs(doc: Schema, value: unknown, seen: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(doc, v, seen));
  if (value === null || typeof value !== 'object') return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    if (seen.includes(ref)) return {};
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
    return resolveRefs(doc, target, [...seen, ref]);
  }
  return Object.fromEntries(
    Object.entries(value as Schema)
      // OpenAPI-only keywords Ajv does not know.
      .filter(
        ([k]) => !['xml', 'example', 'examples', 'discriminator', 'externalDocs', 'deprecated'].includes(k),
      )
      .map(([k, v]) => [k, k === 'properties' ? resolveProperties(doc, v, seen) : resolveRefs(doc, v, seen)]),
  );
}

const resolveProperties = (doc: Schema, value: unknown, seen: readonly string[]) =>
  Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, resolveRefs(doc, v, seen)]));

/** The route schemas an OpenAPI operation describes. */
function schemasOfOperation(doc: Schema, operation: Schema): RouteSchemas {
  const parameters = (resolveRefs(doc, operation.parameters ?? []) as Schema[]).filter((p) => p.schema);
  const part = (where: string): Schema | undefined => {
    const ps = parameters.filter((p) => p.in === where);
    if (ps.length === 0) return undefined;
    return {
      type: 'object',
      properties: Object.fromEntries(
        ps.map((p) => [where === 'header' ? String(p.name).toLowerCase() : p.name, p.schema]),
      ),
      required: ps
        .filter((p) => p.required)
        .map((p) => (where === 'header' ? String(p.name).toLowerCase() : p.name)),
    };
  };
  const content = (resolveRefs(doc, operation.requestBody) as Schema | undefined)?.content as
    Record<string, { schema?: Schema }> | undefined;
  const body = content?.['application/json']?.schema;
  return {
    ...(part('path') ? { params: part('path') } : {}),
    ...(part('query') ? { querystring: part('query') } : {}),
    ...(part('header') ? { headers: part('header') } : {}),
    ...(body ? { body } : {}),
  };
}

/** Every method and URL of the router's tree, as `printRoutes` draws it. */
function routesOf(app: HttpServer): { method: string; url: string }[] {
  const routes: { method: string; url: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim())) {
      if (method && method !== 'HEAD' && method !== 'OPTIONS') routes.push({ method, url: stack.join('') });
    }
  }
  return routes;
}

const paramNames = (url: string): string[] => [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
const toOpenApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('bad input on every route', () => {
  let db: TestDatabase;
  let messaging: Messaging;
  let app: HttpServer;
  let auth: Auth;
  let store: EventStore;
  let port: number;
  let worker: { stop(): Promise<void> };
  let projectorStore: EventStore;
  let projector: Projector;
  const captured = new Map<string, { schema: RouteSchemas; bodyLimit: number | undefined }>();
  let routes: Route[] = [];
  let head = 0;
  let events = 0;

  before(async () => {
    db = await createTestDatabase('badinput');
    const env = { DATABASE_URL: db.url, MESSAGING_PREFIX: `t${randomUUID().slice(0, 8)}` };
    messaging = await connectMessaging({ databaseUrl: db.url, prefix: env.MESSAGING_PREFIX });
    ({ app, auth, store } = await buildGatewayApp({
      config: loadGatewayConfig({
        ...env,
        LOG_LEVEL: 'fatal',
        GATEWAY_REPLY_TIMEOUT_MS: '5000',
        GATEWAY_READ_WAIT_MS: '300',
        PHOTO_MAX_BYTES: String(PHOTO_MAX_BYTES),
        // No stream service here: its proxy must fail fast, not hang.
        STREAM_URL: 'http://127.0.0.1:9',
      }),
      messaging,
      logger: createLogger({ name: 'gateway-test', level: 'fatal' }),
      metrics: createMetricsRegistry({ service: 'gateway-test' }),
    }));
    // Each route's own schema and body limit, as its requests see them. Routes of plugins loaded
    // before this hook do not run it; the OpenAPI documents describe those.
    try {
      app.addHook('onRequest', async (request) => {
        const { url, method, schema, bodyLimit } = request.routeOptions;
        if (url !== undefined)
          captured.set(`${method as string} ${url}`, { schema: (schema ?? {}) as RouteSchemas, bodyLimit });
      });
    } catch {
      // Already started: the documents alone describe the routes.
    }
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    port = Number(new URL(address).port);
    worker = await startWorker({ ...env, LOG_LEVEL: 'fatal', WORKER_HEARTBEAT_MS: '1000' }, [
      '--context',
      knownContexts.join(','),
    ]);
    projectorStore = new EventStore({ connectionString: db.url, poolSize: 3, sweepIntervalMs: 0 });
    projector = await startProjector({
      store: projectorStore,
      connectionString: db.url,
      projections,
      kv: messaging.kv,
      logger: createLogger({ name: 'projector-test', level: 'fatal' }),
      contendEveryMs: 200,
    });
  });

  after(async () => {
    await projector.stop();
    await projectorStore.close();
    await worker.stop();
    await app.close();
    await messaging.close();
    await db.drop();
  });

  /** A fresh admin session per route: a probe of a logout route must not end the next route's. */
  const adminToken = async (): Promise<string> => {
    const principal = await auth.sessions.open({ userId: '1', username: 'admin', role: 'admin' });
    return (await auth.tokens.issue(principal)).token;
  };

  /** One request by hand: any path, content type and body, and an answer even to a body cut short. */
  const send = (method: string, path: string, headers: Record<string, string>, body?: Buffer | string) =>
    new Promise<Answer>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: { ...headers, ...(payload ? { 'content-length': String(payload.length) } : {}) },
          timeout: 10_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              contentType: String(response.headers['content-type'] ?? ''),
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error('no answer within 10 s')));
      // The server may answer (413) and close before a huge body is written: that is its answer.
      request.on('error', (err) => reject(err));
      if (payload) request.write(payload);
      request.end();
    });

  /** The OpenAPI operation for a route: the native document, or the Petstore contract under /api/v3. */
  const documents: { base: string; doc: Schema }[] = [];
  const loadDocuments = async () => {
    for (const [base, url] of [
      ['', '/api/openapi.json'],
      ['/api/v3', '/api/v3/openapi.json'],
    ] as const) {
      const answer = await send('GET', url, {});
      if (answer.status === 200) documents.push({ base, doc: JSON.parse(answer.text) as Schema });
    }
    if (!documents.some((d) => d.base === '/api/v3')) {
      // Not served (yet): the contract file in the repo.
      const text = await readFile(
        new URL('../../../contracts/petstore3-openapi.yaml', import.meta.url),
        'utf8',
      ).catch(() => null);
      if (text) documents.push({ base: '/api/v3', doc: parseYaml(text) as Schema });
    }
  };
  const documented = (method: string, url: string): RouteSchemas | null => {
    for (const { base, doc } of documents) {
      if (base !== '' && !url.startsWith(`${base}/`)) continue;
      const path = toOpenApiPath(base === '' ? url : url.slice(base.length));
      const operation = ((doc.paths ?? {}) as Record<string, Record<string, Schema>>)[path]?.[
        method.toLowerCase()
      ];
      if (operation) return schemasOfOperation(doc, operation);
    }
    return null;
  };

  /** The probes of one route, each with one thing wrong and the rest as valid as can be guessed. */
  function probesOf(route: Route): Probe[] {
    const { schemas, method } = route;
    const params = paramNames(route.url);
    const paramSchema = (name: string) =>
      ((schemas.params?.properties ?? {}) as Record<string, Schema>)[name] ?? { type: 'string' };
    const validParams = Object.fromEntries(params.map((p) => [p, String(validValue(paramSchema(p), true))]));
    /** The route's path with valid parameters but `overrides`; `raw` ones are not percent-encoded. */
    const pathWith = (overrides: Record<string, string> = {}, query = '', raw = false) =>
      route.url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
        const override = overrides[name];
        if (override !== undefined) return raw ? override : encodeURIComponent(override);
        return encodeURIComponent(validParams[name] ?? '1');
      }) + query;
    const queryProps = (schemas.querystring?.properties ?? {}) as Record<string, Schema>;
    const validQuery = validValue(schemas.querystring ?? { type: 'object' }, true) as Record<string, unknown>;
    const queryOf = (q: Record<string, unknown>) => {
      // An array is the parameter repeated (?tags=a&tags=b), as clients send it.
      const s = new URLSearchParams(
        Object.entries(q).flatMap(([k, v]): [string, string][] =>
          Array.isArray(v)
            ? v.map((item): [string, string] => [k, String(item)])
            : [[k, typeof v === 'string' ? v : JSON.stringify(v)]],
        ),
      ).toString();
      return s ? `?${s}` : '';
    };
    const basePath = pathWith({}, queryOf(validQuery));
    const hasBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
    const bodySchema = schemas.body;
    const validBody = bodySchema ? validValue(bodySchema) : undefined;
    const json = { 'content-type': 'application/json' };
    const withBody = (b: unknown) => (bodySchema ? { headers: json, body: JSON.stringify(b) } : {});
    const probes: Probe[] = [];

    for (const name of params) {
      // Longer than the router takes, and escapes that decode to nothing: refused before validation.
      for (const value of ['9'.repeat(300), '%E0%A4%A', '%zz']) {
        probes.push({
          name: `params.${name} = ${value.slice(0, 12)}… (${value.length} characters, as sent)`,
          path: pathWith({ [name]: value }, queryOf(validQuery), true),
          ...withBody(validBody),
          expect: 'invalid',
        });
      }
      for (const value of [SQL, SCRIPT, '-1', '9'.repeat(90), '../../etc/passwd', ' ']) {
        if (fits(paramSchema(name), value, true)) {
          // A value the route takes: it must still be a clean answer (no such thing: 404).
          if (method === 'GET')
            probes.push({
              name: `params.${name} = ${JSON.stringify(value).slice(0, 40)}`,
              path: pathWith({ [name]: value }),
              expect: 'safe',
            });
          else
            probes.push({
              name: `params.${name} = ${JSON.stringify(value).slice(0, 40)}`,
              path: pathWith({ [name]: value }),
              ...withBody(validBody),
              expect: 'invalid',
            });
          continue;
        }
        probes.push({
          name: `params.${name} = ${JSON.stringify(value).slice(0, 40)}`,
          path: pathWith({ [name]: value }, queryOf(validQuery)),
          ...withBody(validBody),
          expect: 'invalid',
          ...(schemas.params ? { field: name } : {}),
        });
      }
    }

    for (const [name, schema] of Object.entries(queryProps)) {
      for (const bad of badValues(schema, true)) {
        probes.push({
          name: `query.${name}: ${bad.name}`,
          path: pathWith({}, queryOf({ ...validQuery, [name]: bad.value })),
          ...withBody(validBody),
          expect: 'invalid',
          field: name,
        });
      }
      // Free text a filter takes: SQL and script are data, and a read with them is a clean answer.
      if (method === 'GET') {
        for (const value of [SQL, SCRIPT]) {
          if (fits(schema, value, true)) {
            probes.push({
              name: `query.${name} = ${value}`,
              path: pathWith({}, queryOf({ ...validQuery, [name]: value })),
              expect: 'safe',
            });
          }
        }
      }
    }
    if (schemas.querystring?.additionalProperties === false) {
      probes.push({
        name: 'query: unknown parameter',
        path: pathWith({}, queryOf({ ...validQuery, [UNKNOWN]: SQL })),
        ...withBody(validBody),
        expect: 'invalid',
        field: UNKNOWN,
      });
    }
    if (schemas.querystring && (schemas.querystring.required as string[] | undefined)?.length) {
      for (const name of schemas.querystring.required as string[]) {
        const { [name]: _, ...rest } = validQuery;
        probes.push({
          name: `query.${name}: missing`,
          path: pathWith({}, queryOf(rest)),
          ...withBody(validBody),
          expect: 'invalid',
          field: name,
        });
      }
    }

    for (const [name, schema] of Object.entries(
      (schemas.headers?.properties ?? {}) as Record<string, Schema>,
    )) {
      if (['authorization', 'api_key', 'content-type'].includes(name)) continue;
      for (const bad of badValues(schema, true).slice(0, 3)) {
        probes.push({
          name: `headers.${name}: ${bad.name}`,
          path: basePath,
          headers: { ...(bodySchema ? json : {}), [name]: String(bad.value) },
          ...(bodySchema ? { body: JSON.stringify(validBody) } : {}),
          expect: 'invalid',
          field: name,
        });
      }
    }

    if (hasBody) {
      const limit = route.bodyLimit ?? Math.max(DEFAULT_BODY_LIMIT, PHOTO_MAX_BYTES);
      probes.push(
        { name: 'body: malformed JSON', path: basePath, headers: json, body: '{"name": ', expect: 'invalid' },
        {
          name: 'body: unknown content type',
          path: basePath,
          headers: { 'content-type': 'application/x-optic-unknown' },
          body: 'x',
          expect: 'invalid',
        },
        {
          name: `body: over the limit (${limit + 1} bytes)`,
          path: basePath,
          headers: json,
          body: Buffer.alloc(limit + 1, 0x20),
          expect: 'invalid',
          status: 413,
        },
        {
          name: 'body: prototype pollution',
          path: basePath,
          headers: json,
          body: '{"__proto__": {"role": "admin"}}',
          expect: 'invalid',
        },
      );
    }
    if (hasBody && bodySchema) {
      for (const [label, text] of [
        ['JSON null', 'null'],
        ['a number', '42'],
        ['a string', JSON.stringify(SQL)],
        ['empty', ''],
      ] as const) {
        if (text !== '' && fits(bodySchema, JSON.parse(text), false)) continue;
        probes.push({ name: `body: ${label}`, path: basePath, headers: json, body: text, expect: 'invalid' });
      }
      if (!fits(bodySchema, [], false)) {
        probes.push({ name: 'body: an array', path: basePath, headers: json, body: '[]', expect: 'invalid' });
      }
      const properties = (bodySchema.properties ?? {}) as Record<string, Schema>;
      const base = (validBody ?? {}) as Record<string, unknown>;
      for (const name of (bodySchema.required ?? []) as string[]) {
        const { [name]: _, ...rest } = base;
        probes.push({
          name: `body.${name}: missing`,
          path: basePath,
          headers: json,
          body: JSON.stringify(rest),
          expect: 'invalid',
          field: name,
        });
      }
      for (const [name, schema] of Object.entries(properties)) {
        for (const bad of badValues(schema, false)) {
          probes.push({
            name: `body.${name}: ${bad.name}`,
            path: basePath,
            headers: json,
            body: JSON.stringify({ ...base, [name]: bad.value }),
            expect: 'invalid',
            field: name,
          });
        }
        // One level down: the fields of an object, or of the objects of an array.
        const inArray = typesOf(schema).includes('array');
        const inner = (inArray ? schema.items : schema) as Schema | undefined;
        const innerProperties = (inner?.properties ?? {}) as Record<string, Schema>;
        if (!inner || Object.keys(innerProperties).length === 0) continue;
        const validInner = validValue(inner) as Record<string, unknown>;
        for (const [innerName, innerSchema] of Object.entries(innerProperties)) {
          for (const bad of badValues(innerSchema, false).slice(0, 3)) {
            const value = { ...validInner, [innerName]: bad.value };
            const path = inArray ? `${name}[0].${innerName}` : `${name}.${innerName}`;
            probes.push({
              name: `body.${path}: ${bad.name}`,
              path: basePath,
              headers: json,
              body: JSON.stringify({ ...base, [name]: inArray ? [value] : value }),
              expect: 'invalid',
              field: path,
            });
          }
        }
      }
      if (bodySchema.additionalProperties === false) {
        probes.push({
          name: 'body: unknown property',
          path: basePath,
          headers: json,
          body: JSON.stringify({ ...base, [UNKNOWN]: SCRIPT }),
          expect: 'invalid',
          field: UNKNOWN,
        });
      }
      if (typesOf(bodySchema).includes('array') && bodySchema.items) {
        for (const bad of badValues(bodySchema.items as Schema, false).slice(0, 3)) {
          probes.push({
            name: `body[0]: ${bad.name}`,
            path: basePath,
            headers: json,
            body: JSON.stringify([bad.value]),
            expect: 'invalid',
          });
        }
      }
    }
    return probes;
  }

  /** What is wrong with an answer to a probe; null when it is right. */
  function judge(probe: Probe, answer: Answer): string | null {
    const { status, contentType, text } = answer;
    if (status >= 500) return `${status} ${text.slice(0, 200)}`;
    if (status >= 400 && !contentType.startsWith('application/problem+json')) {
      return `${status} as ${contentType || 'no content type'}, not application/problem+json`;
    }
    if (probe.expect === 'safe') return null;
    if (status < 400) return `accepted (${status}): ${text.slice(0, 200)}`;
    if (probe.status !== undefined && status !== probe.status)
      return `${status}, not ${probe.status}: ${text.slice(0, 200)}`;
    if (probe.field !== undefined && (status === 400 || status === 422)) {
      let errors: { field?: unknown }[] = [];
      try {
        errors = (JSON.parse(text) as { errors?: { field?: unknown }[] }).errors ?? [];
      } catch {
        return `unreadable problem: ${text.slice(0, 200)}`;
      }
      const field = probe.field;
      if (!errors.some((e) => typeof e.field === 'string' && e.field.includes(field))) {
        return `does not name ${field}: ${text.slice(0, 300)}`;
      }
    }
    return null;
  }

  it('discovers the routes and their schemas', async (t) => {
    await loadDocuments();
    const discovered = routesOf(app);
    // One request per route lets the route hook see its schema: a body that cannot be parsed, so
    // nothing runs; reads run as they are (they change nothing).
    const token = await adminToken();
    for (const { method, url } of discovered) {
      const path = url.replace(/:([A-Za-z0-9_]+)/g, '1');
      await send(
        method,
        path,
        {
          authorization: `Bearer ${token}`,
          ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
        },
        method === 'GET' ? undefined : '{',
      ).catch(() => null);
    }
    routes = discovered.map(({ method, url }) => {
      const seen = captured.get(`${method} ${url}`);
      const fromDocs = documented(method, url);
      const fromRoute =
        seen &&
        Object.keys(seen.schema).some((k) => ['params', 'querystring', 'headers', 'body'].includes(k));
      return {
        method,
        url,
        schemas: fromRoute ? seen.schema : (fromDocs ?? {}),
        bodyLimit: seen?.bodyLimit,
        source: fromRoute ? 'route' : fromDocs ? 'openapi' : 'none',
      };
    });
    head = await store.headPosition();
    events = Number(
      (await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM eventstore.events')).rows[0]?.n,
    );
    assert.ok(
      routes.some((r) => r.method === 'POST' && r.url === '/api/products'),
      'the catalog routes are found',
    );
    assert.ok(
      routes.some((r) => r.url === '/api/products' && r.source !== 'none'),
      'with their schemas',
    );
    const bySource = (s: Route['source']) => routes.filter((r) => r.source === s).length;
    t.diagnostic(
      `${routes.length} routes: ${bySource('route')} with their own schemas, ${bySource('openapi')} from the OpenAPI documents, ${bySource('none')} without (${routes
        .filter((r) => r.source === 'none')
        .map((r) => `${r.method} ${r.url}`)
        .join(', ')})`,
    );
  });

  it('refuses bad input on every route with a 4xx problem naming the field, never a 5xx', async (t) => {
    let total = 0;
    for (const route of routes) {
      const probes = probesOf(route);
      if (probes.length === 0) continue;
      await t.test(`${route.method} ${route.url}`, async () => {
        const token = await adminToken();
        const failures: string[] = [];
        for (const probe of probes) {
          total += 1;
          let answer: Answer;
          try {
            answer = await send(
              route.method,
              probe.path,
              { authorization: `Bearer ${token}`, ...probe.headers },
              probe.body,
            );
          } catch (err) {
            failures.push(`${probe.name}: no answer (${String(err)})`);
            continue;
          }
          const wrong = judge(probe, answer);
          if (wrong) failures.push(`${probe.name}: ${wrong}`);
          if (verbose) t.diagnostic(`${route.method} ${route.url} ${probe.name} → ${answer.status}`);
        }
        assert.deepEqual(failures, [], `${route.method} ${route.url}:\n  ${failures.join('\n  ')}`);
      });
    }
    t.diagnostic(`${total} bad requests`);
    assert.ok(total > 100, `only ${total} probes`);
  });

  it('changed nothing: the event store head is where it was', async () => {
    await store.stampPending();
    assert.equal(await store.headPosition(), head);
    const { rows } = await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM eventstore.events');
    assert.equal(Number(rows[0]?.n), events, 'the events table is there, as it was');
  });

  it('keeps SQL and script fragments in free text as plain data', async () => {
    const token = await adminToken();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await send(
      'POST',
      '/api/products',
      headers,
      JSON.stringify({ sku: 'SAFE-1', name: SQL, description: SCRIPT, priceCents: 1 }),
    );
    assert.equal(created.status, 201, created.text);
    const { position } = JSON.parse(created.text) as { position: number };
    const read = await send('GET', `/api/products/SAFE-1?after=${position}`, {});
    assert.equal(read.status, 200, read.text);
    assert.match(read.contentType, /^application\/json/);
    const product = JSON.parse(read.text) as { name: string; description: string };
    assert.equal(product.name, SQL);
    assert.equal(product.description, SCRIPT);
    const found = await send('GET', `/api/products?after=${position}&tag=${encodeURIComponent(SQL)}`, {});
    assert.equal(found.status, 200, found.text);
  });
});
