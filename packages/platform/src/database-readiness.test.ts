import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseReadiness } from './database-readiness.js';

describe('databaseReadiness', () => {
  it('is named database and asks the database a trivial question', async () => {
    const asked: string[] = [];
    const check = databaseReadiness({ query: async (sql) => void asked.push(sql) });
    assert.equal(check.name, 'database');
    await check.check(new AbortController().signal);
    assert.deepEqual(asked, ['SELECT 1']);
  });

  it('fails when the query fails', async () => {
    const check = databaseReadiness({ query: () => Promise.reject(new Error('connection refused')) });
    await assert.rejects(Promise.resolve(check.check(new AbortController().signal)), /connection refused/);
  });
});
