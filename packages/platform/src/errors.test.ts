import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AppError,
  errorCodeForStatus,
  errorCodes,
  isErrorCode,
  isRetryable,
  problemFromJson,
  toProblem,
} from './errors.js';
import type { ErrorCode } from './errors.js';

describe('error table', () => {
  it('gives each starting code its status', () => {
    const expected: Record<string, number> = {
      validation_failed: 400,
      bad_request: 400,
      wrong_version: 400,
      stream_not_found: 404,
      not_found: 404,
      stream_deleted: 410,
      conflict: 409,
      event_id_conflict: 409,
      unauthorized: 401,
      forbidden: 403,
      payload_too_large: 413,
      unsupported_media_type: 415,
      too_many_requests: 429,
      service_unavailable: 503,
      timeout: 504,
      internal: 500,
    };
    for (const [code, status] of Object.entries(expected)) {
      assert.ok(isErrorCode(code), code);
      assert.equal(errorCodes[code].status, status, code);
    }
  });

  it('marks only transient failures retryable', () => {
    const retryable = (Object.keys(errorCodes) as ErrorCode[]).filter((c) => errorCodes[c].retryable).sort();
    assert.deepEqual(retryable, [
      'concurrency_conflict',
      'idempotency_key_in_progress',
      'read_model_behind',
      'service_unavailable',
      'timeout',
      'too_many_requests',
    ]);
  });

  it('maps bare statuses to generic codes', () => {
    assert.equal(errorCodeForStatus(400), 'bad_request');
    assert.equal(errorCodeForStatus(404), 'not_found');
    assert.equal(errorCodeForStatus(418), 'bad_request');
    assert.equal(errorCodeForStatus(501), 'internal');
    assert.equal(errorCodeForStatus(502), 'service_unavailable');
    assert.equal(errorCodeForStatus(503), 'service_unavailable');
  });

  it('does not mistake inherited object members for codes', () => {
    assert.equal(isErrorCode('toString'), false);
    assert.equal(isErrorCode('__proto__'), false);
  });
});

describe('toProblem', () => {
  it('renders an AppError as an RFC 9457 body with its extras and field errors', () => {
    const err = new AppError('wrong_version', 'Expected version 4, the stream is at 7.', {
      extra: { currentVersion: 7 },
    });
    assert.deepEqual(toProblem(err, '/streams/pet-1'), {
      type: 'https://optic-mart.dev/problems/wrong_version',
      title: 'Wrong version tag',
      status: 400,
      detail: 'Expected version 4, the stream is at 7.',
      code: 'wrong_version',
      instance: '/streams/pet-1',
      currentVersion: 7,
    });

    const invalid = new AppError('validation_failed', 'Invalid field: body.name.', {
      errors: [{ field: 'body.name', message: 'is required' }],
    });
    assert.deepEqual(toProblem(invalid).errors, [{ field: 'body.name', message: 'is required' }]);
    assert.equal(toProblem(invalid).instance, undefined);
  });

  it('does not let extras overwrite the standard members', () => {
    const err = new AppError('conflict', 'Taken.', { extra: { status: 200, code: 'ok', hint: 'reload' } });
    const problem = toProblem(err);
    assert.equal(problem.status, 409);
    assert.equal(problem.code, 'conflict');
    assert.equal(problem.hint, 'reload');
  });

  it('turns unknown errors into a generic internal problem without message or stack', () => {
    const problem = toProblem(new Error('relation "secret_table" does not exist'));
    assert.equal(problem.status, 500);
    assert.equal(problem.code, 'internal');
    const text = JSON.stringify(problem);
    assert.doesNotMatch(text, /secret_table/);
    assert.doesNotMatch(text, /stack|at .*\.ts/);
  });

  it('defaults the detail to the title', () => {
    assert.equal(new AppError('forbidden').detail, 'Forbidden');
  });
});

describe('problemFromJson', () => {
  it('rebuilds the AppError a peer sent, extras and field errors included', () => {
    const original = new AppError('wrong_version', 'Expected 4, at 7.', { extra: { currentVersion: 7 } });
    const rebuilt = problemFromJson(JSON.parse(JSON.stringify(toProblem(original, '/x'))));
    assert.ok(rebuilt instanceof AppError);
    assert.equal(rebuilt.code, 'wrong_version');
    assert.equal(rebuilt.status, 400);
    assert.equal(rebuilt.detail, 'Expected 4, at 7.');
    assert.deepEqual(rebuilt.extra, { currentVersion: 7 });
    assert.equal(isRetryable(rebuilt), false);

    const invalid = problemFromJson(
      toProblem(
        new AppError('validation_failed', 'bad', { errors: [{ field: 'body.a', message: 'is required' }] }),
      ),
    );
    assert.deepEqual(invalid.errors, [{ field: 'body.a', message: 'is required' }]);
  });

  it('keeps retryability across the boundary', () => {
    assert.equal(isRetryable(problemFromJson(toProblem(new AppError('service_unavailable')))), true);
  });

  it('falls back on the status for an unknown code or a body that is not a problem', () => {
    assert.equal(problemFromJson({ code: 'from_the_future', status: 409, detail: 'x' }).code, 'conflict');
    assert.equal(problemFromJson('<html>Bad gateway</html>', 503).code, 'service_unavailable');
    assert.equal(problemFromJson(null).code, 'internal');
  });
});
