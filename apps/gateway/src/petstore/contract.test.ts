// The contract as loaded: its tightened request schemas and the response validator.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { componentNames, createResponseValidator, petstoreOperations, petstoreSchemas } from './contract.js';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
// Configured as the gateway's body validator is (packages/platform http-server).
const ajv = new Ajv({
  allErrors: true,
  removeAdditional: false,
  useDefaults: true,
  coerceTypes: false,
  strict: false,
});
addFormats(ajv);
const check = (name: keyof typeof petstoreSchemas, value: unknown) =>
  ajv.validate(petstoreSchemas[name], value);

describe('the Petstore contract', () => {
  it('has its 19 operations and every component schema', () => {
    assert.equal(petstoreOperations.size, 19);
    assert.deepEqual(Object.keys(petstoreSchemas).sort(), [...componentNames].sort());
    assert.ok(!JSON.stringify(petstoreSchemas).includes('$ref'), 'references are resolved inline');
    assert.ok(!JSON.stringify(petstoreSchemas).includes('"xml"'), 'OpenAPI-only keywords are dropped');
  });

  it('request schemas accept what the contract describes', () => {
    assert.ok(
      check('Pet', {
        id: 10,
        name: 'doggie',
        category: { id: 1, name: 'Dogs' },
        photoUrls: ['https://img.example/a.jpg', `/api/photos/${'a'.repeat(64)}`],
        tags: [{ id: 0, name: 'x' }],
        status: 'sold',
      }),
    );
    assert.ok(
      check('Order', {
        id: 10,
        petId: 198772,
        quantity: 7,
        shipDate: '2026-12-03T10:00:00Z',
        status: 'approved',
        complete: true,
      }),
    );
    assert.ok(
      check('User', {
        id: 10,
        username: 'theUser',
        firstName: 'John',
        email: 'john@email.com',
        password: '12345',
        phone: '12345',
        userStatus: 1,
      }),
    );
  });

  it('request schemas are tight where the contract is loose', () => {
    const pet = { name: 'x', photoUrls: [] };
    assert.ok(check('Pet', pet));
    assert.equal(check('Pet', { ...pet, extra: true }), false, 'unknown properties are refused');
    assert.equal(check('Pet', { name: 'x' }), false, 'photoUrls is required, as the contract says');
    assert.equal(check('Pet', { ...pet, id: Number.MAX_SAFE_INTEGER + 2 }), false, 'ids stay exact in JSON');
    assert.equal(check('Pet', { ...pet, id: -1 }), false);
    assert.equal(check('Pet', { ...pet, name: ' ' }), false);
    assert.equal(check('Pet', { ...pet, name: 'x'.repeat(101) }), false);
    assert.equal(check('Pet', { ...pet, status: 'lost' }), false);
    assert.equal(check('Pet', { ...pet, photoUrls: ['javascript:alert(1)'] }), false);
    assert.equal(check('Pet', { ...pet, photoUrls: Array(21).fill('https://a.example/x.png') }), false);
    assert.equal(check('Pet', { ...pet, tags: [{ id: 1 }] }), false, 'a tag needs its name');
    assert.equal(check('Pet', { ...pet, category: { name: 'c', colour: 'red' } }), false);
    assert.equal(check('Order', { petId: 1, quantity: -1 }), false);
    assert.equal(check('Order', { petId: 1, quantity: 2 ** 31 }), false);
    assert.equal(check('Order', { petId: 1, status: 'lost' }), false);
    assert.equal(check('User', { username: "x' OR 1=1 --" }), false);
    assert.equal(check('User', { username: 'u', email: 'not an email' }), false);
    assert.equal(check('User', { username: 'u', firstName: 'x'.repeat(101) }), false);
  });

  it('validates responses against the document: status listed, content type listed, body fitting', () => {
    const validate = createResponseValidator();
    const pet = { id: 1, name: 'x', photoUrls: [], tags: [], status: 'available' };
    assert.deepEqual(
      validate({ operationId: 'getPetById', status: 200, contentType: 'application/json', body: pet }),
      [],
    );
    assert.deepEqual(
      validate({
        operationId: 'getPetById',
        status: 200,
        contentType: 'application/xml; charset=utf-8',
        body: pet,
      }),
      [],
    );
    assert.notDeepEqual(
      validate({
        operationId: 'getPetById',
        status: 200,
        contentType: 'application/json',
        body: { id: 'x' },
      }),
      [],
    );
    assert.notDeepEqual(
      validate({ operationId: 'getPetById', status: 200, contentType: 'text/plain', body: 'x' }),
      [],
    );
    assert.notDeepEqual(
      validate({ operationId: 'uploadFile', status: 200, contentType: 'application/xml', body: {} }),
      [],
    );
    // Errors: listed (or default) statuses without content.
    assert.deepEqual(
      validate({ operationId: 'getPetById', status: 404, contentType: 'application/problem+json', body: {} }),
      [],
    );
    assert.deepEqual(
      validate({ operationId: 'addPet', status: 409, contentType: 'application/problem+json', body: {} }),
      [],
    );
    assert.deepEqual(
      validate({
        operationId: 'getInventory',
        status: 200,
        contentType: 'application/json',
        body: { available: 1 },
      }),
      [],
    );
    assert.notDeepEqual(
      validate({
        operationId: 'getInventory',
        status: 200,
        contentType: 'application/json',
        body: { available: 'x' },
      }),
      [],
    );
  });
});
