// What a photo is, by its first bytes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { photoUrl, sniffImageType } from './photo-store.js';

const bytes = (...values: (number | string)[]) =>
  Buffer.concat(values.map((v) => (typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from([v]))));

describe('sniffImageType', () => {
  it('knows PNG, JPEG, GIF and WebP by their magic numbers', () => {
    assert.equal(sniffImageType(bytes(0x89, 'PNG\r\n\x1a\n', 'rest')), 'image/png');
    assert.equal(sniffImageType(bytes(0xff, 0xd8, 0xff, 0xe0)), 'image/jpeg');
    assert.equal(sniffImageType(bytes('GIF87a...')), 'image/gif');
    assert.equal(sniffImageType(bytes('GIF89a...')), 'image/gif');
    assert.equal(sniffImageType(bytes('RIFF', 0, 0, 0, 0, 'WEBPVP8 ')), 'image/webp');
  });

  it('refuses anything else, and truncated signatures', () => {
    for (const other of [
      bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      bytes('<html><script>alert(1)</script>'),
      bytes('%PDF-1.7'),
      bytes('RIFF', 0, 0, 0, 0, 'WAVE'),
      bytes(0x89, 'PNG'),
      bytes(0xff, 0xd8),
      Buffer.alloc(0),
    ]) {
      assert.equal(sniffImageType(other), null, other.toString('latin1'));
    }
  });

  it('serves a photo at /api/photos/<sha-256>', () => {
    assert.equal(photoUrl('ab'.repeat(32)), `/api/photos/${'ab'.repeat(32)}`);
  });
});
