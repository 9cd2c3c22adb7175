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
const started = (attempt: number): MessageEvent => ({
  type: 'MessageSendStarted',
  data: { messageId: '7', attempt },
});
const start = (attempt: number) => ({ type: 'StartSend', data: { messageId: '7', attempt } }) as const;
const undetermined = (attempt: number) =>
  ({
    type: 'RecordSendUndetermined',
    data: { messageId: '7', attempt, reason: 'interrupted; SMTP cannot tell' },
  }) as const;
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

  it('starts one attempt at a time, the next one, only while queued', () => {
    given(messageDecider, [queued])
      .when(start(1))
      .then([started(1)]);
    given(messageDecider, [queued, started(1), failed(1)])
      .when(start(2))
      .then([started(2)]);
    // An attempt with no outcome yet may have delivered the message: no second one over it.
    given(messageDecider, [queued, started(1)])
      .when(start(2))
      .thenThrows('invalid_status_transition', /attempt 1 .* has started/);
    given(messageDecider, [queued, started(1)])
      .when(start(1))
      .thenThrows('invalid_status_transition');
    given(messageDecider, [queued])
      .when(start(2))
      .thenThrows('invalid_status_transition', /not the next/);
    given(messageDecider, [queued, started(1), sent])
      .when(start(2))
      .thenThrows('invalid_status_transition', /was sent/);
  });

  it('is sent, with the attempt that sent it', () => {
    given(messageDecider, [queued, started(1)])
      .when(recordSent)
      .then([sent]);
    given(messageDecider, [queued, started(1), failed(1), started(2)])
      .when(recordSent)
      .then([{ type: 'MessageSent', data: { ...sent.data, attempt: 2 } }]);
    // A stream from before attempts were recorded as started: the next attempt sent it.
    given(messageDecider, [queued, failed(1)])
      .when(recordSent)
      .then([{ type: 'MessageSent', data: { ...sent.data, attempt: 2 } }]);
  });

  it('is never sent twice: a second RecordMessageSent records nothing', () => {
    given(messageDecider, [queued, started(1), sent])
      .when(recordSent)
      .then([]);
  });

  it('records each failed attempt once', () => {
    given(messageDecider, [queued, started(1)])
      .when(failure(1))
      .then([failed(1)]);
    given(messageDecider, [queued, started(1), failed(1)])
      .when(failure(1))
      .then([]);
    given(messageDecider, [queued, started(1), failed(1), started(2)])
      .when(failure(2))
      .then([failed(2)]);
    // No attempt is needed to fail (the recipient was erased before any): it counts as one.
    given(messageDecider, [queued])
      .when(failure(1))
      .then([failed(1)]);
  });

  it('is abandoned when the last attempt fails', () => {
    given(messageDecider, [queued, started(1), failed(1), started(2), failed(2), started(3)])
      .when(failure(3))
      .then([
        failed(3),
        { type: 'MessageAbandoned', data: { messageId: '7', attempts: 3, error: 'connection refused' } },
      ]);
  });

  it('is abandoned as undetermined when nobody can tell whether a started attempt delivered it', () => {
    given(messageDecider, [queued, started(1), failed(1), started(2)])
      .when(undetermined(2))
      .then([
        {
          type: 'MessageAbandoned',
          data: { messageId: '7', attempts: 2, error: 'interrupted; SMTP cannot tell', undetermined: true },
        },
      ]);
    // Only the attempt in doubt, and only once; a settled attempt is not in doubt.
    given(messageDecider, [queued, started(1)])
      .when(undetermined(2))
      .then([]);
    given(messageDecider, [queued, started(1), failed(1)])
      .when(undetermined(1))
      .then([]);
    given(messageDecider, [queued, started(1), sent])
      .when(undetermined(1))
      .then([]);
    const doubtful: MessageEvent = {
      type: 'MessageAbandoned',
      data: { messageId: '7', attempts: 1, error: 'interrupted; SMTP cannot tell', undetermined: true },
    };
    given(messageDecider, [queued, started(1), doubtful])
      .when(undetermined(1))
      .then([]);
    // Final: never started, sent or failed again.
    given(messageDecider, [queued, started(1), doubtful])
      .when(start(2))
      .thenThrows('invalid_status_transition');
    given(messageDecider, [queued, started(1), doubtful])
      .when(recordSent)
      .thenThrows('invalid_status_transition');
    given(messageDecider, [queued, started(1), doubtful])
      .when(failure(2))
      .then([]);
  });

  it('records nothing more once final', () => {
    const abandoned: MessageEvent = {
      type: 'MessageAbandoned',
      data: { messageId: '7', attempts: 3, error: 'connection refused' },
    };
    given(messageDecider, [queued, started(1), sent])
      .when(failure(2))
      .then([]);
    given(messageDecider, [queued, failed(1), failed(2), failed(3), abandoned])
      .when(recordSent)
      .thenThrows('invalid_status_transition');
  });

  it('refuses to record sending a message never queued', () => {
    given(messageDecider, []).when(recordSent).thenThrows('message_not_found');
    given(messageDecider, []).when(failure(1)).thenThrows('message_not_found');
    given(messageDecider, []).when(start(1)).thenThrows('message_not_found');
    given(messageDecider, []).when(undetermined(1)).thenThrows('message_not_found');
  });
});
