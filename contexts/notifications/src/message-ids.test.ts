import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { domainOf, messageIdFor, smtpMessageId } from './message-ids.js';

describe('message ids', () => {
  it('are the same for the same event and template', () => {
    const id = messageIdFor('6f1d2c1e-0000-4000-8000-000000000001', 'order_paid');
    assert.equal(messageIdFor('6f1d2c1e-0000-4000-8000-000000000001', 'order_paid'), id);
    assert.match(id, /^[1-9][0-9]{0,18}$/);
    assert.ok(BigInt(id) < 2n ** 63n);
  });

  it('differ by event and by template', () => {
    const a = messageIdFor('event-a', 'order_paid');
    assert.notEqual(messageIdFor('event-b', 'order_paid'), a);
    assert.notEqual(messageIdFor('event-a', 'order_shipped'), a);
  });

  it('give the SMTP Message-ID at the sender domain', () => {
    assert.equal(domainOf('Optic Mart <shop@example.com>'), 'example.com');
    assert.equal(domainOf('shop@localhost'), 'localhost');
    assert.equal(domainOf('nobody'), 'localhost');
    assert.equal(smtpMessageId('42', 'example.com'), '<message-42@example.com>');
  });
});
