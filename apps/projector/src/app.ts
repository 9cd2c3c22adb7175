// The projector's admin API: what every projection is doing, and pause, resume, rebuild.
import type { HttpServer } from '@optic-mart/platform';
import type { Projector } from '@optic-mart/runtime';

const nameParams = {
  type: 'object',
  properties: { name: { type: 'string', pattern: '^[a-z][a-z0-9_]*$', maxLength: 30 } },
  required: ['name'],
} as const;

export function registerProjectorRoutes(app: HttpServer, projector: Projector): void {
  app.get('/projections', async () => ({ projections: await projector.status() }));

  app.post<{ Params: { name: string } }>(
    '/projections/:name/pause',
    { schema: { params: nameParams } },
    async (request) => projector.pause(request.params.name),
  );

  app.post<{ Params: { name: string } }>(
    '/projections/:name/resume',
    { schema: { params: nameParams } },
    async (request) => projector.resume(request.params.name),
  );

  app.post<{ Params: { name: string } }>(
    '/projections/:name/rebuild',
    { schema: { params: nameParams } },
    async (request, reply) => {
      const build = await projector.rebuild(request.params.name);
      return reply.code(202).send({ name: request.params.name, build });
    },
  );
}
