// The Swagger Petstore API at /api/v3, exactly as contracts/petstore3-openapi.yaml defines it, on
// top of the native commands and read models: pets (pet-routes.ts), users (user-routes.ts) and the
// store (store-routes.ts).
//
// Representations: request bodies as JSON, XML or application/x-www-form-urlencoded where the
// operation lists them (read into the contract's JSON shape by the schema the contract gives that
// body, then validated by the route's JSON Schema like JSON); responses as JSON, turned into XML
// when Accept prefers it and the contract offers XML for that operation and status.
//
// Errors stay application/problem+json, with the contract's status codes: bad ids, queries and
// malformed bodies 400; a body that parses but breaks the schema 422 where the
// operation lists 422 (addPet, updatePet, placeOrder), else 400; a missing pet 404. What the
// contract leaves to `default` keeps the platform's status: 401/403 (pet writes need a seller or an
// admin), 409 (an id taken, a reserved pet), 413/415 (photos), 503 (no worker, catch-up).
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, type FieldError, type HttpServer } from '@optic-mart/platform';
import {
  petstoreContract,
  petstoreContractText,
  petstoreOperations,
  type OpenApiSchema,
  type PetstoreOperation,
} from './contract.js';
import type { PetstoreDeps } from './deps.js';
import { prefersXml, shapeSchema, type PetstoreShape } from './negotiate.js';
import { registerPetstorePetRoutes } from './pet-routes.js';
import { registerPetstoreStoreRoutes } from './store-routes.js';
import { registerPetstoreUserRoutes } from './user-routes.js';
import { fromForm, fromXml, toXml } from './representations.js';

export type { PetstoreDeps } from './deps.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The contract's operationId of a /api/v3 route (decides 400 or 422 for a bad body, and the
     * schemas of XML and form bodies and XML responses); found from the method and path if unset.
     */
    operationId?: string;
    /** What an XML or form body is read as, when not what the contract lists for the operation. */
    petstoreBody?: PetstoreShape;
  }
}

const PREFIX = '/api/v3';

const operationsByRoute = new Map(
  [...petstoreOperations.values()].map((op) => [`${op.method} ${op.path}`, op]),
);

/** The contract operation a request's route serves: its `config.operationId`, else its method and path. */
function operationOf(request: FastifyRequest): PetstoreOperation | undefined {
  const { operationId } = request.routeOptions.config;
  if (operationId !== undefined) return petstoreOperations.get(operationId);
  const url = request.routeOptions.url;
  if (url === undefined || !url.startsWith(PREFIX)) return undefined;
  const path = url.slice(PREFIX.length).replace(/:(\w+)/g, '{$1}');
  return operationsByRoute.get(`${request.method} ${path}`);
}

/** The contract as this gateway serves it: `servers` points here, not at petstore3.swagger.io. */
const servedYaml = petstoreContractText.replace(
  /^servers:\n(?: {2}- url: .*\n)+/m,
  `servers:\n  - url: ${PREFIX}\n`,
);
const servedJson = JSON.stringify({ ...petstoreContract, servers: [{ url: PREFIX }] });

// ---- Bodies -------------------------------------------------------------------------------

// updatePetWithForm lists no body, but Petstore v2 clients send its name and status as a form.
const formOnlyBodies: Readonly<Record<string, OpenApiSchema>> = {
  updatePetWithForm: { $ref: '#/components/schemas/Pet' },
};

/** The schema the contract gives this request's body in `mediaType` (XML: also text/xml); 415 if none. */
function bodySchemaOf(request: FastifyRequest, mediaType: string): OpenApiSchema {
  const override = request.routeOptions.config.petstoreBody;
  if (override !== undefined) return shapeSchema(override);
  const op = operationOf(request);
  const content = op?.requestBody?.content;
  const schema =
    content?.[mediaType]?.schema ??
    (mediaType === 'application/x-www-form-urlencoded' && op ? formOnlyBodies[op.operationId] : undefined);
  if (schema === undefined) {
    const listed = Object.keys(content ?? {});
    throw new AppError(
      'unsupported_media_type',
      listed.length > 0
        ? `This operation takes a body as ${listed.join(', ')}.`
        : 'This operation takes no request body.',
    );
  }
  return schema;
}

function registerBodyParsers(v3: FastifyInstance): void {
  v3.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, (request, body, done) => {
    try {
      done(null, fromXml(body as string, bodySchemaOf(request, 'application/xml')));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  v3.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (request, body, done) => {
      try {
        done(null, fromForm(body as string, bodySchemaOf(request, 'application/x-www-form-urlencoded')));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
}

/**
 * XML responses for every route of the scope: a JSON answer becomes the XML the contract
 * describes for that operation and status, when the client prefers XML and the contract offers it.
 */
function registerXmlResponses(v3: FastifyInstance): void {
  v3.addHook('onSend', async (request, reply, payload) => {
    reply.header('Vary', 'Accept');
    if (typeof payload !== 'string' || payload === '' || !prefersXml(request)) return payload;
    if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    const schema =
      operationOf(request)?.responses[String(reply.statusCode)]?.content?.['application/xml']?.schema;
    if (schema === undefined) return payload;
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      return payload;
    }
    reply.header('content-type', 'application/xml; charset=utf-8');
    return toXml(value, schema);
  });
}

// ---- Errors -------------------------------------------------------------------------------

// Ajv reports a missing or extra property on its parent; name the property itself.
function fieldErrors(error: FastifyError, prefix: string): FieldError[] {
  return (error.validation ?? []).map((e) => {
    const path = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const { missingProperty, additionalProperty } = e.params;
    if (e.keyword === 'required' && typeof missingProperty === 'string') path.push(missingProperty);
    if (e.keyword === 'additionalProperties' && typeof additionalProperty === 'string') {
      path.push(additionalProperty);
    }
    const field = [prefix, ...path].join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]');
    const message =
      e.keyword === 'required'
        ? 'is required'
        : e.keyword === 'additionalProperties'
          ? 'is not allowed'
          : (e.message ?? `fails ${e.keyword}`);
    return { field, message };
  });
}

/**
 * A body that breaks the schema, on an operation whose contract lists 422 "Validation exception":
 * 422, naming each field. Everything else goes on to the platform's handler unchanged.
 */
function petstoreError(error: FastifyError, request: FastifyRequest): Error {
  if (error.validation === undefined || error.validationContext !== 'body') return error;
  if (operationOf(request)?.responses['422'] === undefined) return error;
  const errors = fieldErrors(error, 'body');
  const fields = [...new Set(errors.map((e) => e.field))].join(', ');
  return new AppError(
    'validation_exception',
    `Invalid ${errors.length === 1 ? 'field' : 'fields'}: ${fields}.`,
    {
      errors,
      cause: error,
    },
  );
}

// ---- The API ------------------------------------------------------------------------------

/** Mounts the Petstore API, its contract (/api/v3/openapi.json, .yaml) and every operation. */
export async function registerPetstoreApi(app: HttpServer, deps: PetstoreDeps): Promise<void> {
  await app.register(
    async (v3) => {
      registerBodyParsers(v3);
      registerXmlResponses(v3);
      v3.setErrorHandler((error: FastifyError, request) => {
        // Thrown on: the platform's handler (the parent's) renders it as problem+json.
        throw petstoreError(error, request);
      });
      v3.get('/openapi.json', async (_request, reply) =>
        reply.type('application/json; charset=utf-8').send(servedJson),
      );
      v3.get('/openapi.yaml', async (_request, reply) =>
        reply.type('application/yaml; charset=utf-8').send(servedYaml),
      );
      registerPetstorePetRoutes(v3, deps);
      registerPetstoreUserRoutes(v3, deps);
      registerPetstoreStoreRoutes(v3, deps);
    },
    { prefix: PREFIX },
  );
}
