// The notifier's settings, for the configuration of the process that runs it (the saga role):
// `baseConfigSchema.extend(notifierConfigShape)`, then `notifierSettings(config)`.
import { int, url } from '@optic-mart/platform';
import { z } from 'zod';

export const notifierConfigShape = {
  /** smtp://user:pass@host:port (smtps:// for TLS): send through it. Unset: the local mailbox. */
  SMTP_URL: url({ protocols: ['smtp:', 'smtps:'] }).optional(),
  /** Attempts per message before it is abandoned. */
  NOTIFY_MAX_ATTEMPTS: int({ default: 5, min: 1, max: 100 }),
  /** The From of every message. */
  NOTIFY_FROM: z.string().min(3).max(200).default('Optic Mart <shop@localhost>'),
};

/** The notifier options these settings give (spread into `startNotifier`'s options). */
export function notifierSettings(config: {
  readonly SMTP_URL?: string | undefined;
  readonly NOTIFY_MAX_ATTEMPTS: number;
  readonly NOTIFY_FROM: string;
}): { smtpUrl?: string; maxAttempts: number; from: string } {
  return {
    ...(config.SMTP_URL !== undefined && { smtpUrl: config.SMTP_URL }),
    maxAttempts: config.NOTIFY_MAX_ATTEMPTS,
    from: config.NOTIFY_FROM,
  };
}
