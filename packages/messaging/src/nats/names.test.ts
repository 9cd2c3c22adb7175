import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NatsNames, subjectToken } from './names.js';

describe('subjectToken', () => {
  it('keeps plain names and escapes what means something in a subject', () => {
    assert.equal(subjectToken('catalog'), 'catalog');
    assert.equal(subjectToken('Pet-Created'), 'Pet-Created');
    assert.match(subjectToken('a.b *>c_d é'), /^[A-Za-z0-9_-]+$/u);
  });

  it('never maps two names to one token', () => {
    const names = ['a.b', 'a_2eb', 'a_b', 'a b', 'a__b', 'a_', '_a'];
    assert.equal(new Set(names.map(subjectToken)).size, names.length);
  });
});

describe('NatsNames', () => {
  it('takes a prefix that is one subject token', () => {
    assert.throws(() => new NatsNames('a.b'), RangeError);
    assert.throws(() => new NatsNames('a>'), RangeError);
    assert.equal(new NatsNames('om').commandStream('catalog'), 'om_commands_catalog');
    assert.equal(new NatsNames('my_shop').commandSubject('catalog'), 'my_shop.commands.catalog');
  });

  it('keeps the streams of different prefixes apart', () => {
    // Unescaped, prefix `a` with context `x_events`… and prefix `a_commands` could share names.
    const a = new NatsNames('a');
    const b = new NatsNames('a_commands');
    const streams = (n: NatsNames) => [n.commandStream('events'), n.eventStream, n.deadStream];
    const shared = streams(a).filter((s) => streams(b).includes(s));
    assert.deepEqual(shared, []);
  });
});
