import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProjectedEvent } from '@optic-mart/runtime';
import { messagesProjection, type MessageView } from './messages.js';

let position = 0;
const event = (type: string, data: Record<string, unknown>, version: number): ProjectedEvent => ({
  id: `e${++position}`,
  streamId: 'message-7',
  type,
  data,
  metadata: {},
  version,
  position,
  recordedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, position)),
});

const queued = event(
  'MessageQueued',
  {
    messageId: '7',
    to: 'ann@example.com',
    subject: 'Your order 9 was delivered',
    text: 'Hello',
    html: '<p>Hello</p>',
    template: 'order_delivered',
    orderId: '9',
    userId: '3',
    triggeredBy: 'e0',
  },
  1,
);

const fold = (events: readonly ProjectedEvent[]): MessageView | null =>
  events.reduce<MessageView | null>((doc, e) => messagesProjection.apply(doc, e), null);

describe('messages projection', () => {
  it('keeps a message’s status, attempts and last error', () => {
    const failed = event('MessageSendFailed', { messageId: '7', attempt: 1, error: '451 busy' }, 3);
    const sent = event(
      'MessageSent',
      { messageId: '7', transport: 'smtp', providerMessageId: '<message-7@localhost>', attempt: 2 },
      5,
    );
    assert.equal(messagesProjection.documentId(queued), '7');
    const started = (attempt: number, version: number) =>
      event('MessageSendStarted', { messageId: '7', attempt }, version);
    const doc = fold([queued, started(1, 2), failed, started(2, 4), sent]);
    assert.ok(doc);
    assert.equal(doc.status, 'sent');
    assert.equal(doc.attempts, 2);
    assert.equal(doc.lastError, '451 busy');
    assert.equal(doc.transport, 'smtp');
    assert.equal(doc.version, 5);
    assert.equal(doc.sentAt, sent.recordedAt.toISOString());
    assert.deepEqual(messagesProjection.columns?.user_id?.value(doc), '3');
  });

  it('marks an abandoned message, and reads erased personal data as null', () => {
    const erased = { ...queued, data: { ...(queued.data as object), to: null, text: null, html: null } };
    const doc = fold([erased, event('MessageAbandoned', { messageId: '7', attempts: 1, error: 'x' }, 2)]);
    assert.equal(doc?.status, 'abandoned');
    assert.equal(doc?.to, null);
    assert.equal(doc?.text, null);
  });

  it('shows an attempt whose outcome is unknown as abandoned, with the reason', () => {
    const doc = fold([
      queued,
      event('MessageSendStarted', { messageId: '7', attempt: 1 }, 2),
      event(
        'MessageAbandoned',
        { messageId: '7', attempts: 1, error: 'attempt 1 was interrupted', undetermined: true },
        3,
      ),
    ]);
    assert.equal(doc?.status, 'abandoned');
    assert.equal(doc?.attempts, 1);
    assert.equal(doc?.lastError, 'attempt 1 was interrupted');
    assert.equal(doc?.version, 3);
  });
});
