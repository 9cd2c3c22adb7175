import { describe, it } from 'node:test';
import { given } from '@optic-mart/runtime';
import { messageDecider, type MessageEvent, type MessageQueuedData } from './message.js';

const queuedData: MessageQueuedData = {
  messageId: '7',
  to: 'ann@example.com',
  subject: 'Payment received for order 9',
  text: 'Hello Ann,',
  html: '<p>Hello Ann,</p>',
  template: 'order_paid',
  orderId: '9',
  userId: '3',
  triggeredBy: 'event-1',
};
const queued: MessageEvent = { type: 'MessageQueued', data: queuedData };
const failed = (attempt: number): MessageEvent => ({
  type: 'MessageSendFailed',
  data: { messageId: '7', attempt, error: 'connection refused' },
});
const sent: MessageEvent = {
  type: 'MessageSent',
  data: { messageId: '7', transport: 'smtp', providerMessageId: '<message-7@localhost>', attempt: 1 },
};
const failure = (attempt: number) =>
  ({
    type: 'RecordSendFailure',
    data: { messageId: '7', attempt, error: 'connection refused', maxAttempts: 3 },
  }) as const;
const recordSent = {
  type: 'RecordMessageSent',
  data: { messageId: '7', transport: 'smtp', providerMessageId: '<message-7@localhost>' },
} as const;

describe('Message', () => {
  it('is queued once', () => {
    given(messageDecider, []).when({ type: 'QueueMessage', data: queuedData }).then([queued]);
    given(messageDecider, [queued]).when({ type: 'QueueMessage', data: queuedData }).then([]);
  });

  it('is sent, with the attempt that sent it', () => {
    given(messageDecider, [queued]).when(recordSent).then([sent]);
    given(messageDecider, [queued, failed(1)])
      .when(recordSent)
      .then([{ type: 'MessageSent', data: { ...sent.data, attempt: 2 } }]);
  });

  it('is never sent twice: a second RecordMessageSent records nothing', () => {
    given(messageDecider, [queued, sent]).when(recordSent).then([]);
  });

  it('records each failed attempt once', () => {
    given(messageDecider, [queued])
      .when(failure(1))
      .then([failed(1)]);
    given(messageDecider, [queued, failed(1)])
      .when(failure(1))
      .then([]);
    given(messageDecider, [queued, failed(1)])
      .when(failure(2))
      .then([failed(2)]);
  });

  it('is abandoned when the last attempt fails', () => {
    given(messageDecider, [queued, failed(1), failed(2)])
      .when(failure(3))
      .then([
        failed(3),
        { type: 'MessageAbandoned', data: { messageId: '7', attempts: 3, error: 'connection refused' } },
      ]);
  });

  it('records nothing more once final', () => {
    const abandoned: MessageEvent = {
      type: 'MessageAbandoned',
      data: { messageId: '7', attempts: 3, error: 'connection refused' },
    };
    given(messageDecider, [queued, sent]).when(failure(2)).then([]);
    given(messageDecider, [queued, failed(1), failed(2), failed(3), abandoned])
      .when(recordSent)
      .thenThrows('invalid_status_transition');
  });

  it('refuses to record sending a message never queued', () => {
    given(messageDecider, []).when(recordSent).thenThrows('message_not_found');
    given(messageDecider, []).when(failure(1)).thenThrows('message_not_found');
  });
});
