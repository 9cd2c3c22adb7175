// The identity routes' translation from envelopes to commands, and from events to what is stored.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError, type CommandInput } from '@optic-mart/runtime';
import { UserId, Username, type UserEvent } from './domain/user.js';
import { identityCommandRoutes, userCommandRoute, usernameOf, userStreamId } from './routes.js';

const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g';
const envelope = (type: string, data: unknown, aggregateId = 'user-theUser'): CommandInput => ({
  commandId: '00000000-0000-4000-8000-000000000001',
  type,
  aggregateId,
  data,
  metadata: { correlationId: 'test' },
});
const toCommand = (input: CommandInput) => userCommandRoute.toCommand!(input);
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(isDomainError(err));
    return err.code;
  }
  return assert.fail('expected a DomainError');
};

describe('user streams', () => {
  it('are user-<username>, for plain usernames of 1 to 64 characters', () => {
    assert.equal(userStreamId('theUser'), 'user-theUser');
    assert.equal(usernameOf('user-theUser'), 'theUser');
    assert.equal(usernameOf('user-a.b_c-d'), 'a.b_c-d');
    for (const bad of ['pet-1', 'user-', 'user-.x', `user-${'a'.repeat(65)}`, "user-x' OR 1=1", 'user-a/b']) {
      assert.equal(usernameOf(bad), null, bad);
    }
  });

  it('route every user command', () => {
    assert.deepEqual(Object.keys(identityCommandRoutes).sort(), [
      'ChangeUserRole',
      'DeleteUser',
      'RegisterUser',
      'UpdateUser',
    ]);
  });
});

describe('toCommand', () => {
  it('takes the username from the stream (the decider defaults the role)', () => {
    assert.deepEqual(toCommand(envelope('RegisterUser', { userId: '12', passwordHash: hash })), {
      type: 'RegisterUser',
      data: { userId: '12', passwordHash: hash, username: 'theUser' },
    });
  });

  it("passes an UpdateUser body's username on as the one requested, for the decider to compare", () => {
    assert.deepEqual(toCommand(envelope('UpdateUser', { username: 'other', email: 'a@b.example' })), {
      type: 'UpdateUser',
      data: { email: 'a@b.example', username: 'theUser', requestedUsername: 'other' },
    });
  });

  it('refuses bad data, an unknown command and a stream that is not a user', () => {
    assert.equal(
      refusal(() => toCommand(envelope('RegisterUser', { userId: '0' }))),
      'validation_failed',
    );
    assert.equal(
      refusal(() => toCommand(envelope('RegisterUser', { userId: '1', password: 'x' }))),
      'validation_failed',
    );
    assert.equal(
      refusal(() => toCommand(envelope('RegisterUser', { userId: '1', passwordHash: 'plain' }))),
      'validation_failed',
    );
    assert.equal(
      refusal(() => toCommand(envelope('ChangeUserRole', { role: 'root' }))),
      'validation_failed',
    );
    assert.equal(
      refusal(() => toCommand(envelope('UpdateUser', { userStatus: -1 }))),
      'validation_failed',
    );
    assert.equal(
      refusal(() => toCommand(envelope('BanUser', {}))),
      'bad_request',
    );
    assert.equal(
      refusal(() => toCommand(envelope('DeleteUser', {}, 'pet-1'))),
      'validation_failed',
    );
  });
});

describe('toStreamEvents', () => {
  const ref = { userId: UserId('12'), username: Username('theUser') };
  const profile = { firstName: 'A', lastName: 'B', email: 'a@b.example', phone: '1', userStatus: 1 };

  it("marks names, email, phone and the password hash as the user's personal data", () => {
    const events: UserEvent[] = [
      { type: 'UserRegistered', data: { ...ref, role: 'customer', ...profile, passwordHash: hash } },
      { type: 'UserUpdated', data: { ...ref, ...profile } },
      { type: 'UserPasswordChanged', data: { ...ref, passwordHash: hash } },
      { type: 'UserRoleChanged', data: { ...ref, role: 'admin', previousRole: 'customer' } },
      { type: 'UserDeleted', data: ref },
    ];
    const stored = userCommandRoute.toStreamEvents!(events, envelope('UpdateUser', {}));
    assert.deepEqual(
      stored.map((e) => e.personalData ?? null),
      [
        { subjectId: '12', fields: ['firstName', 'lastName', 'email', 'phone', 'passwordHash'] },
        { subjectId: '12', fields: ['firstName', 'lastName', 'email', 'phone'] },
        { subjectId: '12', fields: ['passwordHash'] },
        null,
        null,
      ],
    );
    assert.deepEqual(
      stored.map((e) => e.type),
      events.map((e) => e.type),
    );
  });
});
