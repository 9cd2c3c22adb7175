import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given } from '@optic-mart/runtime';
import { UserId, Username, userDecider, type UserCommand, type UserEvent } from './user.js';

const userId = UserId('123456789');
const username = Username('theUser');
const ref = { userId, username };
const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g';
const otherHash = '$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNo';

const john = { firstName: 'John', lastName: 'James', email: 'john@email.com', phone: '12345', userStatus: 1 };
const nobody = { firstName: null, lastName: null, email: null, phone: null, userStatus: null };

const registered: UserEvent = {
  type: 'UserRegistered',
  data: { ...ref, role: 'customer', ...john, passwordHash: hash },
};
const deleted: UserEvent = { type: 'UserDeleted', data: ref };
const madeSeller: UserEvent = {
  type: 'UserRoleChanged',
  data: { ...ref, role: 'seller', previousRole: 'customer' },
};

const register = (
  data: Partial<Extract<UserCommand, { type: 'RegisterUser' }>['data']> = {},
): UserCommand => ({
  type: 'RegisterUser',
  data: { ...ref, ...john, passwordHash: hash, ...data },
});
const update = (data: Partial<Extract<UserCommand, { type: 'UpdateUser' }>['data']> = {}): UserCommand => ({
  type: 'UpdateUser',
  data: { username, ...john, ...data },
});
const changeRole = (role: 'customer' | 'seller' | 'admin'): UserCommand => ({
  type: 'ChangeUserRole',
  data: { username, role },
});
const remove: UserCommand = { type: 'DeleteUser', data: { username } };

describe('RegisterUser', () => {
  it('registers a customer by default, with the profile and the password hash', () => {
    given(userDecider).when(register()).then([registered]);
  });

  it('registers the role asked for (the gateway lets only admins ask for more than customer)', () => {
    given(userDecider)
      .when(register({ role: 'admin' }))
      .then([{ type: 'UserRegistered', data: { ...ref, role: 'admin', ...john, passwordHash: hash } }]);
  });

  it('fills omitted profile fields with null, and no hash as null (cannot log in)', () => {
    given(userDecider)
      .when({ type: 'RegisterUser', data: ref })
      .then([{ type: 'UserRegistered', data: { ...ref, role: 'customer', ...nobody, passwordHash: null } }]);
  });

  it('refuses a username that is taken', () => {
    given(userDecider, [registered]).when(register()).thenThrows('user_already_exists');
    given(userDecider, [registered, madeSeller]).when(register()).thenThrows('user_already_exists');
  });

  it('lets a new person register the username of a deleted user, with a new id', () => {
    const newId = UserId('987');
    given(userDecider, [registered, deleted])
      .when(register({ userId: newId, email: 'new@email.com' }))
      .then([
        {
          type: 'UserRegistered',
          data: {
            userId: newId,
            username,
            role: 'customer',
            ...john,
            email: 'new@email.com',
            passwordHash: hash,
          },
        },
      ]);
  });
});

describe('UpdateUser', () => {
  it('replaces the profile; omitted fields become null', () => {
    given(userDecider, [registered])
      .when({ type: 'UpdateUser', data: { username, email: 'j@new.example' } })
      .then([{ type: 'UserUpdated', data: { ...ref, ...nobody, email: 'j@new.example' } }]);
  });

  it('changes the password hash when a new one is given, and only then', () => {
    given(userDecider, [registered])
      .when(update({ passwordHash: otherHash }))
      .then([{ type: 'UserPasswordChanged', data: { ...ref, passwordHash: otherHash } }]);
    given(userDecider, [registered])
      .when(update({ passwordHash: hash }))
      .then([]);
  });

  it('changes profile and password together', () => {
    given(userDecider, [registered])
      .when(update({ phone: '999', passwordHash: otherHash }))
      .then([
        { type: 'UserUpdated', data: { ...ref, ...john, phone: '999' } },
        { type: 'UserPasswordChanged', data: { ...ref, passwordHash: otherHash } },
      ]);
  });

  it('decides nothing when nothing changes', () => {
    given(userDecider, [registered]).when(update()).then([]);
    given(userDecider, [registered])
      .when(update({ requestedUsername: 'theUser' }))
      .then([]);
  });

  it('refuses to change the username', () => {
    const err = given(userDecider, [registered])
      .when(update({ requestedUsername: 'someoneElse' }))
      .thenThrows('username_immutable', /cannot change/);
    assert.deepEqual(err.extra, { username: 'theUser' });
  });

  it('refuses a missing or deleted user', () => {
    given(userDecider).when(update()).thenThrows('user_not_found');
    given(userDecider, [registered, deleted]).when(update()).thenThrows('user_not_found');
  });
});

describe('ChangeUserRole', () => {
  it('changes the role, naming the previous one', () => {
    given(userDecider, [registered]).when(changeRole('seller')).then([madeSeller]);
    given(userDecider, [registered, madeSeller])
      .when(changeRole('admin'))
      .then([{ type: 'UserRoleChanged', data: { ...ref, role: 'admin', previousRole: 'seller' } }]);
  });

  it('decides nothing for the role the user has', () => {
    given(userDecider, [registered]).when(changeRole('customer')).then([]);
  });

  it('refuses a missing or deleted user', () => {
    given(userDecider).when(changeRole('admin')).thenThrows('user_not_found');
    given(userDecider, [registered, deleted]).when(changeRole('admin')).thenThrows('user_not_found');
  });
});

describe('DeleteUser', () => {
  it('deletes a user', () => {
    given(userDecider, [registered]).when(remove).then([deleted]);
    given(userDecider, [registered, madeSeller]).when(remove).then([deleted]);
  });

  it('refuses a missing or deleted user', () => {
    given(userDecider).when(remove).thenThrows('user_not_found');
    given(userDecider, [registered, deleted]).when(remove).thenThrows('user_not_found');
  });
});

describe('the decider', () => {
  it('folds the lifecycle into the state', () => {
    const state = [
      registered,
      { type: 'UserUpdated', data: { ...ref, ...john, lastName: 'Jones' } } as UserEvent,
      { type: 'UserPasswordChanged', data: { ...ref, passwordHash: otherHash } } as UserEvent,
      madeSeller,
    ].reduce(userDecider.evolve, userDecider.initialState());
    assert.deepEqual(state, {
      kind: 'registered',
      ...ref,
      role: 'seller',
      ...john,
      lastName: 'Jones',
      passwordHash: otherHash,
    });
    assert.deepEqual(userDecider.evolve(state, deleted), { kind: 'deleted', ...ref });
  });

  it('reads erased personal data (null fields) without failing: the user cannot log in', () => {
    const erased: UserEvent = {
      type: 'UserRegistered',
      data: { ...ref, role: 'customer', ...nobody, userStatus: 1, passwordHash: null },
    };
    const state = userDecider.evolve(userDecider.initialState(), erased);
    assert.equal(state.kind === 'registered' && state.passwordHash, null);
  });

  it('ignores an event type it does not know, and throws a plain Error for an unknown command', () => {
    const state = userDecider.evolve(userDecider.initialState(), registered);
    const unknownEvent = { type: 'UserPromoted', data: ref } as unknown as UserEvent;
    assert.deepEqual(userDecider.evolve(state, unknownEvent), state);
    const unknownCommand = { type: 'BanUser', data: { username } } as unknown as UserCommand;
    assert.throws(
      () => userDecider.decide(unknownCommand, state),
      (err) => err instanceof Error && err.name === 'Error' && /unknown command/.test(err.message),
    );
  });
});
