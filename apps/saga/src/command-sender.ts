// The saga's CommandSender over the shared CommandDispatcher (packages/messaging): the command's
// id is the saga's deterministic key, so a repeat after a crash is applied once by the worker
// (event ids derive from the command id), and a late reply is read from the command status store.
import { errorCodes, isAppError, isErrorCode, type Logger } from '@optic-mart/platform';
import type { CommandDispatcher } from '@optic-mart/messaging';
import type { CommandOutcome, CommandSender, OutwardCommand } from './ports.js';

const POLL_MS = 100;

function retryableCode(code: string): boolean {
  return isErrorCode(code) ? errorCodes[code].retryable : false;
}

export function dispatcherCommandSender(dispatcher: CommandDispatcher, logger: Logger): CommandSender {
  return {
    async send(command: OutwardCommand, timeoutMs: number): Promise<CommandOutcome> {
      const deadline = Date.now() + timeoutMs;
      let outcome;
      try {
        outcome = await dispatcher.dispatch({
          commandId: command.commandId,
          context: command.context,
          type: command.type,
          aggregateId: command.aggregateId,
          data: command.data,
          metadata: { correlationId: command.correlationId, userId: command.userId },
        });
      } catch (err) {
        logger.debug({ err, commandId: command.commandId }, 'saga command not sent');
        const code = isAppError(err) ? err.code : 'service_unavailable';
        return { ok: false, code, detail: err instanceof Error ? err.message : String(err), retryable: true };
      }
      let status = outcome.kind === 'completed' ? outcome.status : null;
      while (status === null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        const found = await dispatcher.statuses.get(command.commandId).catch(() => null);
        if (found && found.status !== 'pending') status = found;
      }
      if (status === null) {
        return {
          ok: false,
          code: 'timeout',
          detail: `${command.type} had no outcome in ${timeoutMs} ms`,
          retryable: true,
        };
      }
      if (status.status === 'succeeded') return { ok: true, result: status.result };
      return {
        ok: false,
        code: status.error.code,
        detail: status.error.detail,
        retryable: retryableCode(status.error.code),
      };
    },
  };
}
