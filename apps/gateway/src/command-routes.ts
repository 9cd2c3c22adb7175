import { AppError, type HttpServer } from '@optic-mart/platform';
import type { CommandDispatcher } from '@optic-mart/messaging';

const commandParams = {
  type: 'object',
  required: ['commandId'],
  properties: { commandId: { type: 'string', format: 'uuid' } },
} as const;

/** `GET /api/commands/{id}`: where a 202's Location points — pending, succeeded or failed. */
export function registerCommandRoutes(app: HttpServer, dispatcher: CommandDispatcher): void {
  app.get<{ Params: { commandId: string } }>(
    '/api/commands/:commandId',
    { schema: { params: commandParams } },
    async (request) => {
      const status = await dispatcher.statuses.get(request.params.commandId);
      if (!status) throw new AppError('not_found', `No command ${request.params.commandId} is known.`);
      return status;
    },
  );
}
