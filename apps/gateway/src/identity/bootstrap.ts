// The first admin (issue 5): ADMIN_USERNAME / ADMIN_PASSWORD become an admin account on the first
// start. Every gateway replica tries on every start, so it must be idempotent: the registration
// requires that the stream `user-<username>` does not exist, and an existing one means done (even a
// deleted admin is not brought back). Gateways may start before any identity worker: it waits and
// tries again in the background, never holding up the start.
import { setTimeout as sleep } from 'node:timers/promises';
import { isAppError, type Logger } from '@optic-mart/platform';
import type { IdentityService } from './service.js';

export interface AdminBootstrapOptions {
  readonly identity: IdentityService;
  readonly username: string;
  readonly password: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** First and largest delay between tries. */
  readonly retryMs?: { readonly initial: number; readonly max: number };
}

export type AdminBootstrapResult = 'created' | 'exists' | 'aborted';

/** Makes sure the admin exists; resolves once it does (or on abort). Never rejects. */
export async function ensureAdmin(options: AdminBootstrapOptions): Promise<AdminBootstrapResult> {
  const { identity, username, password, logger, signal } = options;
  const { initial, max } = options.retryMs ?? { initial: 250, max: 5000 };
  for (let delay = initial; !signal.aborted; delay = Math.min(max, delay * 2)) {
    try {
      const { state, version } = await identity.load(username);
      if (version > 0) {
        if (state.kind === 'registered' && state.role !== 'admin') {
          // Someone registered the name first: they stay a customer, and there is no admin by it.
          logger.error({ username }, 'ADMIN_USERNAME names an existing user who is not an admin');
        } else logger.debug({ username }, 'the admin account exists');
        return 'exists';
      }
      const { userId, outcome } = await identity.registerFirstAdmin(username, password, 'admin-bootstrap');
      if (outcome.kind === 'completed') {
        logger.info({ username, userId }, 'created the admin account');
        return 'created';
      }
      // Enqueued but not answered in time: check the stream on the next round.
    } catch (err) {
      if (isAppError(err) && (err.code === 'version_mismatch' || err.code === 'user_already_exists')) {
        return 'exists';
      }
      // 503 (no identity worker live yet, or a full queue) and passing database trouble.
      logger[isAppError(err) && err.code === 'service_unavailable' ? 'debug' : 'warn'](
        { err, username },
        'could not create the admin account yet; trying again',
      );
    }
    await sleep(delay, undefined, { signal }).catch(() => undefined);
  }
  return 'aborted';
}
