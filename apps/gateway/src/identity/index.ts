// Identity at the gateway: users and sessions (routes.ts), login throttling (login-limiter.ts),
// password hashing (passwords.ts) and the first admin (bootstrap.ts).
import type { EventStore } from '@optic-mart/eventstore';
import type { CommandDispatcher, KeyValueStore } from '@optic-mart/messaging';
import type { HttpServer, Logger } from '@optic-mart/platform';
import type { ReadModels } from '@optic-mart/runtime';
import type { Auth } from '../auth/index.js';
import { ensureAdmin, type AdminBootstrapResult } from './bootstrap.js';
import { LoginLimiter } from './login-limiter.js';
import { warmUpPasswords } from './passwords.js';
import { registerIdentityRoutes } from './routes.js';
import { IdentityService } from './service.js';

export { IdentityService, toUserDto, type UserDto } from './service.js';
export { LoginLimiter, type LoginLimits } from './login-limiter.js';
export { hashPassword, verifyPassword, generatePassword } from './passwords.js';

export interface IdentityOptions {
  readonly store: EventStore;
  readonly dispatcher: CommandDispatcher;
  readonly auth: Auth;
  readonly kv: KeyValueStore;
  readonly readModels: ReadModels;
  readonly logger: Logger;
  /** The gateway's config, of which these settings are read. */
  readonly config: {
    readonly LOGIN_MAX_ATTEMPTS_PER_USER: number;
    readonly LOGIN_MAX_ATTEMPTS_PER_ADDRESS: number;
    readonly LOGIN_WINDOW_MS: number;
    readonly ADMIN_USERNAME?: string | undefined;
    readonly ADMIN_PASSWORD?: string | undefined;
    readonly GATEWAY_READ_WAIT_MS: number;
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Users and sessions, for route modules mounted elsewhere (the Petstore's user operations). */
    identity: IdentityService;
  }
}

export interface Identity {
  readonly service: IdentityService;
  /** Settles once the admin account exists ('aborted' when the gateway closed first; 'none' unconfigured). */
  readonly adminReady: Promise<AdminBootstrapResult | 'none'>;
}

/**
 * Registers the native user and session routes, and, once the server is ready, makes sure the
 * configured admin exists (in the background: it waits for an identity worker).
 */
export function registerIdentity(app: HttpServer, options: IdentityOptions): Identity {
  const { config, logger } = options;
  const { ADMIN_USERNAME: adminUsername, ADMIN_PASSWORD: adminPassword } = config;
  if ((adminUsername === undefined) !== (adminPassword === undefined)) {
    throw new Error('set both ADMIN_USERNAME and ADMIN_PASSWORD, or neither');
  }
  const limiter = new LoginLimiter(options.kv, {
    maxPerUser: config.LOGIN_MAX_ATTEMPTS_PER_USER,
    maxPerAddress: config.LOGIN_MAX_ATTEMPTS_PER_ADDRESS,
    windowMs: config.LOGIN_WINDOW_MS,
  });
  const service = new IdentityService({ ...options, limiter });
  app.decorate('identity', service);
  registerIdentityRoutes(app, service, options.readModels, { readWaitMs: config.GATEWAY_READ_WAIT_MS });

  const stop = new AbortController();
  let started: (result: Promise<AdminBootstrapResult | 'none'>) => void;
  const adminReady = new Promise<AdminBootstrapResult | 'none'>((resolve) => {
    started = (result) => resolve(result);
  });
  app.addHook('onReady', async () => {
    warmUpPasswords().catch((err: unknown) => logger.warn({ err }, 'argon2 warm-up failed'));
    started(
      adminUsername !== undefined && adminPassword !== undefined
        ? ensureAdmin({
            identity: service,
            username: adminUsername,
            password: adminPassword,
            logger,
            signal: stop.signal,
          })
        : Promise.resolve('none'),
    );
  });
  app.addHook('onClose', async () => {
    stop.abort();
    started(Promise.resolve('aborted'));
    // A try under way ends within the reply timeout; the store it uses closes after this hook.
    await adminReady;
  });
  return { service, adminReady };
}
