// The fulfillment saga end to end over real HTTP, everything in-process on PostgreSQL alone:
// gateway, a worker of every context, the projector, the payment provider (its own API and
// ledger) and the saga role. cart → checkout → authorized, captured, paid → shipment → approved;
// a seller ships and delivers. A declined payment cancels and releases the stock; a refused
// shipment (a country the shop does not ship to) refunds, releases and cancels. Customers register
// with an email address, so each step's emails (the saga role runs the notifier) are checked too:
// in the local mailbox (admins' API) and in the customer's own messages, each once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitUntil } from '@optic-mart/testkit';
import { loginAs, type TestLogin } from '../../gateway/src/auth/test-support.js';
import type { MailboxEntry, MessageView } from '@optic-mart/notifications';
import type { FulfillmentView } from './domain/fulfillments-projection.js';
import { start as startSaga } from './main.js';
import { startTestShop, type TestShop } from './test-shop.js';

/** Who a request is sent as: a test login, or a customer signed in over the API. */
interface Caller {
  readonly headers: { readonly authorization: string };
}
interface Customer extends Caller {
  readonly userId: string;
  readonly email: string;
}
const address = {
  name: 'Ann Smith',
  line1: '1 Main St',
  city: 'Springfield',
  postalCode: '12345',
  country: 'US',
};

describe('the fulfillment saga over HTTP', () => {
  let shop: TestShop;
  let saga: { stop(): Promise<void> };
  let seller: TestLogin;
  let admin: TestLogin;
  let skus = 0;
  let buyers = 0;

  before(async () => {
    shop = await startTestShop({ name: 'saga_http', provider: { PSP_POLL_MS: '50' } });
    saga = await startSaga(
      {
        ...shop.env,
        LOG_LEVEL: 'warn',
        SAGA_PORT: String(await freePort()),
        PSP_URL: `http://127.0.0.1:${shop.providerPort}`,
        SAGA_STEP_TIMEOUT_MS: '5000',
        SAGA_RETRY_BASE_MS: '50',
        SAGA_RETRY_MAX_MS: '500',
        SAGA_PENDING_POLL_MS: '100',
        SAGA_SWEEP_MS: '500',
        SAGA_CONCURRENCY: '8',
        SAGA_POOL_SIZE: '4',
      },
      [],
    );
    seller = await loginAs(shop.auth, 'seller');
    admin = await loginAs(shop.auth, 'admin');
  });

  after(async () => {
    await saga?.stop();
    await shop?.stop();
  });

  const call = (method: string, path: string, as?: Caller, body?: unknown) =>
    shop.call(method, path, as, body);
  async function expectStatus<T>(res: Response, status: number): Promise<T> {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A customer registered (with an email address) and signed in, over the identity API. */
  async function register(): Promise<Customer> {
    const username = `buyer${++buyers}`;
    const password = 'buyer-password-1';
    const email = `${username}@example.com`;
    const created = await expectStatus<{ id: string }>(
      await call('POST', '/api/users', undefined, { username, password, email, firstName: 'Ann' }),
      201,
    );
    const session = await expectStatus<{ token: string }>(
      await call('POST', '/api/sessions', undefined, { username, password }),
      201,
    );
    return { userId: created.id, email, headers: { authorization: `Bearer ${session.token}` } };
  }

  /** A product with stock; a customer's cart with 2 of it, checked out. */
  async function checkout(country = 'US'): Promise<{ orderId: string; sku: string; ann: Customer }> {
    const sku = `SAGA-${++skus}`;
    await expectStatus(
      await call('POST', '/api/products', seller, { sku, name: 'Bone', priceCents: 1250 }),
      201,
    );
    await expectStatus(await call('POST', `/api/stock/${sku}/restock`, seller, { quantity: 5 }), 200);
    const ann = await register();
    await expectStatus(await call('POST', '/api/cart/items', ann, { sku, quantity: 2 }), 201);
    const placed = await expectStatus<{ orderId: string }>(
      await call('POST', '/api/cart/checkout', ann, { shippingAddress: { ...address, country } }),
      201,
    );
    return { orderId: placed.orderId, sku, ann };
  }

  async function fulfillment(orderId: string, as: Caller, until: (f: FulfillmentView) => boolean) {
    let view: FulfillmentView | null = null;
    await waitUntil(
      `the fulfillment of ${orderId}`,
      async () => {
        const res = await call('GET', `/api/orders/${orderId}/fulfillment`, as);
        view = res.status === 200 ? ((await res.json()) as FulfillmentView) : (await res.arrayBuffer(), null);
        return view !== null && until(view);
      },
      60_000,
    );
    return view!;
  }
  const finished = (f: FulfillmentView) => f.status !== 'running' && f.status !== 'compensating';

  const ledger = async (orderId: string) => {
    const res = await fetch(`http://127.0.0.1:${shop.providerPort}/v1/ledger?reference=${orderId}`);
    assert.equal(res.status, 200);
    return (await res.json()) as { entries: { kind: string; amount: number }[] };
  };
  const sum = (l: { entries: { kind: string; amount: number }[] }, kind: string) =>
    l.entries.filter((e) => e.kind === kind).reduce((s, e) => s + e.amount, 0);
  const stock = async (sku: string) =>
    expectStatus<{ available: number; reserved: number }>(await call('GET', `/api/stock/${sku}`), 200);
  const order = async (orderId: string, as: Caller) =>
    expectStatus<{ status: string }>(await call('GET', `/api/orders/${orderId}`, as), 200);
  /** The event types of the order's stream, in order. */
  const orderEvents = async (orderId: string) =>
    (await shop.store.readStream(`order-${orderId}`)).map((e) => e.type);

  /** The customer's emails in the local mailbox, through the admins' API. */
  const mailbox = async (customer: Customer) =>
    (
      await expectStatus<{ items: MailboxEntry[] }>(
        await call('GET', `/api/notifications/mailbox?userId=${customer.userId}&limit=100`, admin),
        200,
      )
    ).items;
  /** The customer's own messages (the `messages` read model), through their API. */
  const messages = async (customer: Customer) =>
    (
      await expectStatus<{ items: MessageView[] }>(
        await call('GET', '/api/users/me/messages?limit=100', customer),
        200,
      )
    ).items;
  const sorted = (templates: readonly string[]) => [...templates].sort();

  /**
   * Waits until the customer's mailbox holds exactly `templates` about the order (each once), and
   * their own messages show the same ones, sent; a second copy of one, or one too many, fails.
   */
  async function expectEmails(customer: Customer, orderId: string, templates: readonly string[]) {
    const want = sorted(templates);
    await waitUntil(
      `emails ${want.join(', ')} for order ${orderId}`,
      async () => (await mailbox(customer)).length >= want.length,
      30_000,
    );
    await waitUntil(`messages ${want.join(', ')} of order ${orderId} recorded sent`, async () => {
      const mine = await messages(customer);
      return mine.length >= want.length && mine.every((m) => m.status === 'sent');
    });
    const mail = await mailbox(customer);
    assert.deepEqual(
      sorted(mail.map((m) => m.template)),
      want,
      `mailbox of order ${orderId}: ${JSON.stringify(mail.map((m) => m.template))}`,
    );
    assert.ok(mail.every((m) => m.orderId === orderId && m.to === customer.email));
    assert.equal(new Set(mail.map((m) => m.messageId)).size, mail.length);
    const mine = await messages(customer);
    assert.deepEqual(sorted(mine.map((m) => m.template)), want);
    assert.deepEqual(sorted(mine.map((m) => m.id)), sorted(mail.map((m) => m.messageId)));
    assert.ok(mine.every((m) => m.status === 'sent' && m.attempts === 1 && m.transport === 'mailbox'));
    return mail;
  }

  it('happy path: checkout → paid → shipment → approved (saga completed) → shipped → delivered', async () => {
    const { orderId, sku, ann } = await checkout();
    const done = await fulfillment(orderId, ann, finished);
    assert.equal(done.status, 'completed', JSON.stringify(done.history));
    assert.ok(done.trackingNumber);
    assert.ok(done.providerPaymentId);
    const l = await ledger(orderId);
    assert.equal(sum(l, 'capture'), 2500);
    assert.equal(sum(l, 'refund'), 0);
    await waitUntil('the order approved', async () => (await order(orderId, ann)).status === 'approved');
    await waitUntil('stock committed', async () => (await stock(sku)).reserved === 0);
    assert.equal((await stock(sku)).available, 3);
    assert.deepEqual(await orderEvents(orderId), ['OrderPlaced', 'OrderPaid', 'OrderApproved']);
    // Checkout and payment: "we received your order" (with its total) and "payment received".
    const placed = await expectEmails(ann, orderId, ['order_placed', 'order_paid']);
    assert.match(placed.find((m) => m.template === 'order_placed')!.text, /25\.00 USD/);
    // Others do not see it; staff do.
    const bob = await loginAs(shop.auth, 'customer');
    assert.equal((await call('GET', `/api/orders/${orderId}/fulfillment`, bob)).status, 404);
    assert.equal((await call('GET', `/api/orders/${orderId}/fulfillment`, seller)).status, 200);
    await expectStatus(await call('POST', `/api/shipments/${orderId}/shipped`, seller), 200);
    await waitUntil('shipped', async () => (await order(orderId, ann)).status === 'shipped');
    assert.deepEqual(await orderEvents(orderId), [
      'OrderPlaced',
      'OrderPaid',
      'OrderApproved',
      'OrderShipped',
    ]);
    const shipped = await expectEmails(ann, orderId, ['order_placed', 'order_paid', 'order_shipped']);
    assert.ok(shipped.find((m) => m.template === 'order_shipped')!.text.includes(done.trackingNumber));
    await expectStatus(await call('POST', `/api/shipments/${orderId}/delivered`, seller), 200);
    await waitUntil('delivered', async () => (await order(orderId, ann)).status === 'delivered');
    assert.deepEqual(await orderEvents(orderId), [
      'OrderPlaced',
      'OrderPaid',
      'OrderApproved',
      'OrderShipped',
      'OrderDelivered',
    ]);
    await expectEmails(ann, orderId, ['order_placed', 'order_paid', 'order_shipped', 'order_delivered']);
  });

  it('a refused shipment refunds, releases the stock and cancels (shipment_failed)', async () => {
    const { orderId, sku, ann } = await checkout('AQ');
    const done = await fulfillment(orderId, ann, finished);
    assert.equal(done.status, 'compensated', JSON.stringify(done.history));
    assert.equal(done.reason, 'shipment_failed');
    const l = await ledger(orderId);
    assert.equal(sum(l, 'capture'), 2500);
    assert.equal(sum(l, 'refund'), 2500);
    await waitUntil('the order cancelled', async () => (await order(orderId, ann)).status === 'cancelled');
    await waitUntil('stock released', async () => (await stock(sku)).available === 5);
    assert.deepEqual(await orderEvents(orderId), ['OrderPlaced', 'OrderPaid', 'OrderCancelled']);
    // Paid, then refunded and cancelled: the cancellation says why.
    const mail = await expectEmails(ann, orderId, ['order_placed', 'order_paid', 'order_cancelled']);
    assert.match(mail.find((m) => m.template === 'order_cancelled')!.text, /we could not ship it/);
  });

  it('a declined payment cancels the order and releases the stock (payment_declined)', async () => {
    await shop.restartProvider({ PSP_DECLINE_RATE: '1' });
    const { orderId, sku, ann } = await checkout();
    const done = await fulfillment(orderId, ann, finished);
    assert.equal(done.status, 'compensated', JSON.stringify(done.history));
    assert.equal(done.reason, 'payment_declined');
    assert.equal(sum(await ledger(orderId), 'capture'), 0);
    await waitUntil('the order cancelled', async () => (await order(orderId, ann)).status === 'cancelled');
    await waitUntil('stock released', async () => (await stock(sku)).available === 5);
    assert.deepEqual(await orderEvents(orderId), ['OrderPlaced', 'OrderCancelled']);
    // Never paid: no "payment received", only the cancellation, saying why.
    const mail = await expectEmails(ann, orderId, ['order_placed', 'order_cancelled']);
    assert.match(mail.find((m) => m.template === 'order_cancelled')!.text, /the payment was declined/);
  });
});
