// The emails sent about an order: a subject, a plain-text body and a simple HTML body per
// template. Whatever comes from users (names, addresses, reasons) is escaped in the HTML and kept
// to one line in the subject, so nobody can inject markup or mail headers.
import type { MessageTemplate } from './message.js';

export interface Amount {
  readonly amountCents: number;
  readonly currency: string;
}

export interface Address {
  readonly name?: string;
  readonly line1?: string;
  readonly city?: string;
  readonly postalCode?: string;
  readonly country?: string;
}

/** What a template is filled with. */
export interface TemplateInput {
  readonly orderId: string;
  /** How the email greets the recipient (first name, else username). */
  readonly recipientName: string;
  readonly total?: Amount | null;
  readonly trackingNumber?: string | null;
  readonly reason?: string | null;
  readonly shippingAddress?: Address | null;
}

export interface RenderedMessage {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe to place in HTML content or a quoted attribute. */
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** Text on one line: control characters (CR, LF, …) become spaces, so it cannot start a header. */
// eslint-disable-next-line no-control-regex
export const oneLine = (value: string): string => value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();

/** An amount as people read it: `12.50 USD`. */
export function formatAmount(amount: Amount): string {
  const cents = Math.abs(amount.amountCents) % 100;
  const units = Math.trunc(amount.amountCents / 100);
  return `${amount.amountCents < 0 ? '-' : ''}${Math.abs(units)}.${String(cents).padStart(2, '0')} ${amount.currency}`;
}

/** Readable reasons for the codes the saga cancels with; anything else is shown as given. */
const reasons: Readonly<Record<string, string>> = {
  payment_declined: 'the payment was declined',
  shipment_failed: 'we could not ship it',
};

const describeReason = (reason: string): string => reasons[reason] ?? reason;

function addressLines(address: Address): string[] {
  return [
    address.name,
    address.line1,
    [address.postalCode, address.city].filter(Boolean).join(' '),
    address.country,
  ]
    .filter((l): l is string => typeof l === 'string' && l.trim().length > 0)
    .map(oneLine);
}

/** A template's paragraphs, as plain text (escaped for HTML by `render`). */
function paragraphs(template: MessageTemplate, input: TemplateInput): { subject: string; body: string[] } {
  const order = `order ${input.orderId}`;
  const total = input.total ? ` The total is ${formatAmount(input.total)}.` : '';
  switch (template) {
    case 'order_placed': {
      const address = input.shippingAddress ? addressLines(input.shippingAddress) : [];
      return {
        subject: `We received your ${order}`,
        body: [
          `Thank you for your ${order}.${total}`,
          ...(address.length > 0 ? [`It will be shipped to: ${address.join(', ')}.`] : []),
          'We will write again once your payment is through.',
        ],
      };
    }
    case 'order_paid':
      return {
        subject: `Payment received for ${order}`,
        body: [`We received your payment for ${order}.${total}`, 'We are preparing your shipment.'],
      };
    case 'order_shipped':
      return {
        subject: `Your ${order} is on its way`,
        body: [
          `Your ${order} has been shipped.`,
          ...(input.trackingNumber ? [`Tracking number: ${oneLine(input.trackingNumber)}.`] : []),
        ],
      };
    case 'order_delivered':
      return {
        subject: `Your ${order} was delivered`,
        body: [`Your ${order} was delivered. We hope you enjoy it!`],
      };
    case 'order_cancelled':
      return {
        subject: `Your ${order} was cancelled`,
        body: [
          input.reason
            ? `Your ${order} was cancelled: ${oneLine(describeReason(input.reason))}.`
            : `Your ${order} was cancelled.`,
          'Anything you were charged for it is refunded.',
        ],
      };
    default: {
      const unknown: never = template;
      throw new Error(`unknown template ${String(unknown)}`);
    }
  }
}

/** The email for `template`: subject, plain text and HTML (user-supplied text escaped). */
export function render(template: MessageTemplate, input: TemplateInput): RenderedMessage {
  const { subject, body } = paragraphs(template, input);
  const greeting = `Hello ${oneLine(input.recipientName)},`;
  const closing = 'Optic Mart';
  const text = [greeting, ...body, closing].join('\n\n') + '\n';
  const html =
    '<!doctype html><html><body>' +
    [greeting, ...body].map((p) => `<p>${escapeHtml(p)}</p>`).join('') +
    `<p>${closing}</p></body></html>`;
  return { subject: oneLine(subject), text, html };
}
