import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageTemplates } from './message.js';
import { escapeHtml, formatAmount, oneLine, render } from './templates.js';

describe('templates', () => {
  it('render every template with subject, text and HTML naming the order', () => {
    for (const template of messageTemplates) {
      const m = render(template, { orderId: '42', recipientName: 'Ann' });
      assert.match(m.subject, /order 42/, template);
      assert.match(m.text, /^Hello Ann,/, template);
      assert.match(m.text, /order 42/, template);
      assert.match(m.html, /<p>Hello Ann,<\/p>/, template);
    }
  });

  it('show the total, the tracking number, the address and a readable reason', () => {
    const placed = render('order_placed', {
      orderId: '1',
      recipientName: 'Ann',
      total: { amountCents: 1250, currency: 'USD' },
      shippingAddress: {
        name: 'Ann Lee',
        line1: '1 Main St',
        city: 'Springfield',
        postalCode: '12345',
        country: 'US',
      },
    });
    assert.match(placed.text, /The total is 12\.50 USD\./);
    assert.match(placed.text, /Ann Lee, 1 Main St, 12345 Springfield, US/);
    assert.match(
      render('order_shipped', { orderId: '1', recipientName: 'A', trackingNumber: 'TRK-9' }).text,
      /TRK-9/,
    );
    assert.match(
      render('order_cancelled', { orderId: '1', recipientName: 'A', reason: 'payment_declined' }).text,
      /cancelled: the payment was declined\./,
    );
  });

  it('escape what users wrote in the HTML', () => {
    const m = render('order_placed', {
      orderId: '1',
      recipientName: '<script>alert("x")</script>',
      shippingAddress: { name: 'Bob & <b>Co</b>', line1: "O'Brien St", city: 'X', country: 'US' },
    });
    assert.doesNotMatch(m.html, /<script>|<b>/);
    assert.match(m.html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    assert.match(m.html, /Bob &amp; &lt;b&gt;Co&lt;\/b&gt;/);
    assert.match(m.html, /O&#39;Brien St/);
    // The plain text is plain: shown as written.
    assert.match(m.text, /Hello <script>alert\("x"\)<\/script>,/);
  });

  it('keep user text on one line, so it cannot add headers or lines', () => {
    const m = render('order_shipped', {
      orderId: '1',
      recipientName: 'Ann\r\nBcc: victim@example.com',
      trackingNumber: 'T1\r\nX-Evil: 1',
    });
    assert.doesNotMatch(m.subject, /[\r\n]/);
    assert.match(m.text, /Hello Ann Bcc: victim@example.com,/);
    assert.match(m.text, /Tracking number: T1 X-Evil: 1\./);
    assert.equal(oneLine('a\u0000b\nc'), 'a b c');
  });

  it('format amounts in cents exactly', () => {
    assert.equal(formatAmount({ amountCents: 5, currency: 'EUR' }), '0.05 EUR');
    assert.equal(formatAmount({ amountCents: 123456, currency: 'USD' }), '1234.56 USD');
    assert.equal(escapeHtml(`&<>"'`), '&amp;&lt;&gt;&quot;&#39;');
  });
});
