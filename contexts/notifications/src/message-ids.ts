// Message ids derived from what caused them, so that seeing an event twice (a replay after a
// crash, a second notifier) queues the same message, which its stream then refuses to queue again.
import { createHash } from 'node:crypto';
import type { MessageTemplate } from './domain/message.js';

const MAX_ID = (1n << 63n) - 1n;

/**
 * The id of the message `template` that event `eventId` asks for: a decimal integer below 2^63
 * (PostgreSQL's bigint), from SHA-256 of the two. Never change the derivation: a message derived
 * differently after an upgrade would be queued, and sent, a second time.
 */
export function messageIdFor(eventId: string, template: MessageTemplate): string {
  const digest = createHash('sha256').update(`${eventId}\n${template}`, 'utf8').digest();
  return String((digest.readBigUInt64BE(0) % MAX_ID) + 1n);
}

/**
 * The SMTP Message-ID of message `id`, at the sender's domain: the same for every attempt, so a
 * receiving server (or mailbox) that sees it twice can tell it is one message.
 */
export function smtpMessageId(id: string, domain: string): string {
  return `<message-${id}@${domain}>`;
}

/** The domain of a From address (`Shop <shop@example.com>` → `example.com`); `localhost` if none. */
export function domainOf(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return match?.[1] ?? 'localhost';
}
