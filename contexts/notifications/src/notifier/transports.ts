// How a message leaves: SMTP through nodemailer, or the local mailbox. Both are told the message's
// own Message-ID, the same on every attempt. Each also says what it can tell of an earlier attempt
// whose outcome was never recorded (its sender stopped mid-send): the mailbox can look, SMTP cannot.
import nodemailer from 'nodemailer';
import type pg from 'pg';
import type { MessageTransport } from '../domain/message.js';
import { deliverToMailbox, inMailbox } from './mailbox.js';

/** A message ready to leave. */
export interface OutgoingMessage {
  readonly messageId: string;
  /** `<message-<id>@domain>`: derived from the message id. */
  readonly smtpMessageId: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string | null;
  readonly userId: string;
  readonly orderId: string;
  readonly template: string;
}

/** What became of an attempt that was started and whose outcome nobody recorded. */
export type EarlierAttempt =
  | { readonly outcome: 'delivered'; readonly providerMessageId: string }
  | { readonly outcome: 'not_delivered' }
  | { readonly outcome: 'unknown'; readonly reason: string };

export interface Transport {
  readonly name: MessageTransport;
  /** Sends the message; resolves with the id the provider knows it by, throws when it was not sent. */
  send(message: OutgoingMessage): Promise<{ providerMessageId: string }>;
  /** Whether an earlier, interrupted attempt delivered the message, as far as this transport can tell. */
  earlierAttempt(message: OutgoingMessage): Promise<EarlierAttempt>;
  close(): Promise<void>;
}

/** SMTP (smtp://user:pass@host:port, smtps:// for TLS from the start) through nodemailer. */
export function smtpTransport(url: string, options: { timeoutMs?: number } = {}): Transport {
  const timeout = options.timeoutMs ?? 30_000;
  const transporter = nodemailer.createTransport({
    url,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    name: 'smtp',
    async send(message) {
      const info = await transporter.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html !== null && { html: message.html }),
        messageId: message.smtpMessageId,
      });
      return { providerMessageId: String(info.messageId ?? message.smtpMessageId) };
    },
    async earlierAttempt() {
      // SMTP has no way to ask a server whether it accepted a message.
      return {
        outcome: 'unknown',
        reason: 'an SMTP server cannot be asked whether it accepted a message',
      };
    },
    async close() {
      transporter.close();
    },
  };
}

/** The local mailbox table: delivering a message twice leaves one row. */
export function mailboxTransport(pool: pg.Pool): Transport {
  return {
    name: 'mailbox',
    async send(message) {
      await deliverToMailbox(pool, {
        messageId: message.messageId,
        smtpMessageId: message.smtpMessageId,
        userId: message.userId,
        orderId: message.orderId,
        template: message.template,
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
      return { providerMessageId: message.smtpMessageId };
    },
    async earlierAttempt(message) {
      return (await inMailbox(pool, message.messageId))
        ? { outcome: 'delivered', providerMessageId: message.smtpMessageId }
        : { outcome: 'not_delivered' };
    },
    async close() {},
  };
}
