// The users projection as Given (events) / Then (document, columns, counters).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProjectedEvent } from '@optic-mart/runtime';
import { UserId, Username, type UserEvent } from '../domain/user.js';
import { usersProjection, type UserView } from './users.js';

const ref = { userId: UserId('77'), username: Username('theUser') };
const john = { firstName: 'John', lastName: 'James', email: 'john@email.com', phone: '12345', userStatus: 1 };
const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g';

const registered: UserEvent = {
  type: 'UserRegistered',
  data: { ...ref, role: 'customer', ...john, passwordHash: hash },
};

const recorded = (events: readonly UserEvent[]): ProjectedEvent[] =>
  events.map((e, i) => ({
    id: `e${i}`,
    streamId: `user-${ref.username}`,
    type: e.type,
    data: e.data,
    metadata: {},
    version: i + 1,
    position: 500 + i,
    recordedAt: new Date(0),
  }));

function given(events: readonly UserEvent[]): UserView | null {
  return recorded(events).reduce<UserView | null>((doc, e) => {
    assert.equal(usersProjection.documentId(e), 'theUser');
    return usersProjection.apply(doc, e);
  }, null);
}

describe('the users projection', () => {
  it('shows a registered user without the password hash', () => {
    const doc = given([registered]);
    assert.deepEqual(doc, { id: '77', username: 'theUser', role: 'customer', ...john, version: 1 });
    assert.doesNotMatch(JSON.stringify(doc), /argon2/);
    assert.equal(usersProjection.columns?.role?.value(doc), 'customer');
    assert.equal(usersProjection.counters?.role?.(doc), 'customer');
  });

  it('follows updates, password changes and role changes', () => {
    const doc = given([
      registered,
      { type: 'UserUpdated', data: { ...ref, ...john, email: null, phone: null } },
      { type: 'UserPasswordChanged', data: { ...ref, passwordHash: hash } },
      { type: 'UserRoleChanged', data: { ...ref, role: 'seller', previousRole: 'customer' } },
    ]);
    assert.deepEqual(doc, {
      id: '77',
      username: 'theUser',
      role: 'seller',
      ...john,
      email: null,
      phone: null,
      version: 4,
    });
  });

  it('removes a deleted user, and shows the next person to take the username', () => {
    assert.equal(given([registered, { type: 'UserDeleted', data: ref }]), null);
    const again = given([
      registered,
      { type: 'UserDeleted', data: ref },
      { type: 'UserRegistered', data: { ...registered.data, userId: UserId('78'), role: 'seller' } },
    ]);
    assert.equal(again?.id, '78');
    assert.equal(again?.role, 'seller');
  });
});
