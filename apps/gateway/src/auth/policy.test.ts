import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { isAppError } from '@optic-mart/platform';
import { mayAct, requireRole, requireUser } from './policy.js';
import type { Principal, Role } from './principal.js';

const as = (role: Role, userId = '1'): Principal => ({
  userId,
  username: `u${userId}`,
  role,
  sessionId: 's',
});
const request = (principal: Principal | null) => ({ principal }) as FastifyRequest;

const code = (fn: () => unknown): string | null => {
  try {
    fn();
    return null;
  } catch (err) {
    assert.ok(isAppError(err));
    return err.code;
  }
};

describe('the authorization policy', () => {
  it('asks an anonymous request to log in (401)', () => {
    assert.equal(
      code(() => requireUser(request(null))),
      'unauthorized',
    );
    assert.equal(
      code(() => requireRole(request(null), 'seller')),
      'unauthorized',
    );
  });

  it('lets sellers manage the catalog, not customers (403)', () => {
    assert.equal(
      code(() => requireRole(request(as('seller')), 'seller')),
      null,
    );
    assert.equal(
      code(() => requireRole(request(as('customer')), 'seller')),
      'forbidden',
    );
  });

  it('lets admins do everything', () => {
    assert.equal(
      code(() => requireRole(request(as('admin')), 'seller')),
      null,
    );
    assert.equal(
      code(() => requireRole(request(as('admin')))),
      null,
    );
    assert.equal(mayAct(as('admin', '1'), '2'), true);
  });

  it("keeps a customer to their own data; sellers see others' only where allowed", () => {
    assert.equal(mayAct(as('customer', '1'), '1'), true);
    assert.equal(mayAct(as('customer', '1'), '2'), false);
    assert.equal(mayAct(as('seller', '1'), '2'), false);
    assert.equal(mayAct(as('seller', '1'), '2', 'seller'), true);
  });
});
