import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedEvent } from '@optic-mart/eventstore';
import { toBusEvent } from './relay.js';

const event = (data: unknown, personal?: string[]): RecordedEvent => ({
  id: '7f1c1c56-51b6-4a55-9a47-2f3f1c9e1a01',
  streamId: 'user-alice',
  type: 'UserRegistered',
  data,
  metadata: {
    correlationId: 'c-1',
    ...(personal && { personalData: { subjectId: '17', fields: personal } }),
  },
  schemaVersion: 1,
  version: 1,
  position: 5,
  recordedAt: new Date('2026-12-03T10:00:00Z'),
});

test('the bus never carries personal data: marked fields go out as null, the rest as stored', () => {
  const published = toBusEvent(
    event({ userId: '17', username: 'alice', email: 'alice@example.com', phone: '+1 555' }, [
      'email',
      'phone',
      'firstName',
    ]),
  );
  assert.deepEqual(published.data, { userId: '17', username: 'alice', email: null, phone: null });
  assert.deepEqual(published.metadata.personalData, {
    subjectId: '17',
    fields: ['email', 'phone', 'firstName'],
  });
});

test('events without personal data are published as they are', () => {
  const data = { petId: '42', name: 'Rex' };
  const published = toBusEvent(event(data));
  assert.deepEqual(published.data, data);
  assert.equal(published.position, 5);
  assert.equal(published.recordedAt, '2026-12-03T10:00:00.000Z');
});
