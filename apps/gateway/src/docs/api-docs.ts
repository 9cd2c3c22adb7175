// The gateway's API documents and explorer: GET /api/openapi.json, the native API's OpenAPI
// document generated (by @fastify/swagger) from the very route schemas the gateway validates
// with; the Petstore contract at /api/v3/openapi.json (petstore/index.ts); and GET /docs, Swagger
// UI listing both, served from the swagger-ui-dist package (no CDN: the gateway may have no
// internet, and a page that loads scripts from elsewhere is a page someone else controls).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '@optic-mart/platform';

const require = createRequire(import.meta.url);
const uiDirectory = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** The files of swagger-ui-dist /docs serves, with their types; nothing else of the package. */
const uiFiles: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-16x16.png': 'image/png',
  'favicon-32x32.png': 'image/png',
};

/** The documents the explorer lists, first shown first. */
export const apiDocuments = [
  { url: '/api/openapi.json', name: 'Optic Mart native API (/api)' },
  { url: '/api/v3/openapi.json', name: 'Swagger Petstore (/api/v3)' },
] as const;

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Optic Mart API explorer</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="stylesheet" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/initializer.js"></script>
</body>
</html>
`;

// A file, not an inline script: the page can then forbid inline scripts altogether (CSP).
const initializer = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    urls: ${JSON.stringify(apiDocuments)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;

const contentSecurityPolicy =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

/** Whether a route belongs in the native API's document: /api/…, but not the Petstore's or the docs'. */
const isNativeApiRoute = (url: string): boolean =>
  url.startsWith('/api/') && !url.startsWith('/api/v3') && url !== '/api/openapi.json';

/**
 * Starts documenting routes. Call it (and await it) BEFORE the routes are added: @fastify/swagger
 * collects them as they are declared, so a route declared earlier is missing from the document.
 */
export async function registerApiDocs(app: FastifyInstance, options: { version: string }): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Optic Mart native API',
        version: options.version,
        description:
          'The shop under /api. Errors are application/problem+json (RFC 9457) with a stable `code`. ' +
          'Writes answer with the version (ETag) and the position to read them after (`?after=`). ' +
          'The Swagger Petstore API is at /api/v3 (its own document: /api/v3/openapi.json).',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          api_key: { type: 'apiKey', in: 'header', name: 'api_key' },
        },
      },
      security: [{ bearer: [] }, {}],
    },
    transform: ({ schema, url }) => ({
      schema: isNativeApiRoute(url) ? schema : { ...schema, hide: true },
      url,
    }),
  });

  app.get('/api/openapi.json', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(JSON.stringify(app.swagger())),
  );

  const cache = new Map<string, Buffer>();
  app.get<{ Params: { file: string } }>('/docs/:file', { schema: { hide: true } }, async (request, reply) => {
    const { file } = request.params;
    reply.header('Cache-Control', 'public, max-age=3600').header('X-Content-Type-Options', 'nosniff');
    if (file === 'initializer.js') return reply.type('text/javascript; charset=utf-8').send(initializer);
    const type = uiFiles[file];
    if (type === undefined) throw new AppError('not_found', `There is no /docs/${file}.`);
    let bytes = cache.get(file);
    if (bytes === undefined) {
      bytes = await readFile(path.join(uiDirectory, file));
      cache.set(file, bytes);
    }
    return reply.type(type).send(bytes);
  });

  const sendPage = async (_request: unknown, reply: FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('Content-Security-Policy', contentSecurityPolicy)
      .header('X-Content-Type-Options', 'nosniff')
      .send(page);
  app.get('/docs', { schema: { hide: true } }, sendPage);
  app.get('/docs/', { schema: { hide: true } }, sendPage);
}
