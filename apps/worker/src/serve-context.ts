import { isAppError, type Logger } from '@optic-mart/platform';
import type { CommandQueue, CommandStatusStore, Consumer } from '@optic-mart/messaging';
import type { CommandHandler } from '@optic-mart/runtime';

/**
 * Takes a context's commands from the queue and handles each: the outcome (success or a business
 * refusal) is recorded and replied, then the message is acked. An infrastructure failure is
 * thrown back to the queue, which redelivers it; on its last attempt the client is told it
 * failed before it is dead-lettered.
 */
export async function serveContext(options: {
  context: string;
  commands: CommandQueue;
  statuses: CommandStatusStore;
  handle: CommandHandler;
  concurrency: number;
  maxDeliveries: number;
  logger: Logger;
  onSettled?: () => void;
  inFlight: { count: number };
}): Promise<Consumer> {
  const { context, statuses, handle, logger, inFlight } = options;
  return options.commands.consume(context, {
    concurrency: options.concurrency,
    maxDeliveries: options.maxDeliveries,
    handler: async (command, delivery) => {
      inFlight.count++;
      const log = logger.child({
        commandId: command.commandId,
        correlationId: command.metadata.correlationId,
      });
      try {
        const result = await handle(command);
        const completedAt = new Date().toISOString();
        if (result.ok) {
          const { ok: _ok, ...rest } = result;
          await statuses.completed(
            { status: 'succeeded', commandId: command.commandId, context, result: rest, completedAt },
            command.metadata.replyTo,
          );
          log.debug(
            { type: command.type, version: result.version, attempt: delivery.attempt },
            'command applied',
          );
        } else {
          await statuses.completed(
            {
              status: 'failed',
              commandId: command.commandId,
              context,
              error: { ...result.error },
              completedAt,
            },
            command.metadata.replyTo,
          );
          log.info({ type: command.type, code: result.error.code }, 'command refused');
        }
      } catch (err) {
        // Unknown errors are infrastructure trouble a redelivery may fix; a non-retryable AppError is not.
        const last = delivery.attempt >= options.maxDeliveries || (isAppError(err) && !err.retryable);
        log.warn({ err, attempt: delivery.attempt, last }, 'command failed');
        if (last) {
          await statuses
            .completed(
              {
                status: 'failed',
                commandId: command.commandId,
                context,
                error: { code: 'internal', detail: 'The command could not be processed.' },
                completedAt: new Date().toISOString(),
              },
              command.metadata.replyTo,
            )
            .catch(() => undefined);
        }
        throw err;
      } finally {
        inFlight.count--;
        options.onSettled?.();
      }
    },
  });
}
