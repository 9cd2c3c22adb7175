// The Petstore's other representations of its schemas: XML (element names from the contract's
// `xml` objects, wrapped arrays) and application/x-www-form-urlencoded. Both arrive as text, so
// reading one converts it to the JSON shape the schema describes (integers, booleans, arrays) and
// leaves anything unconvertible as it is, for the JSON Schema validation to name.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AppError } from '@optic-mart/platform';
import { refName, resolveSchema, type OpenApiSchema } from './contract.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The element name of a value of `schema` at the document's root. */
export function rootElementName(schema: OpenApiSchema): string {
  const resolved = resolveSchema(schema);
  if (resolved.type === 'array') return `${itemElementName(resolved.items ?? {}, 'item')}s`;
  return resolved.xml?.name ?? refName(schema) ?? 'value';
}

/** An array item's element name: its own xml name, else its component's, else the fallback. */
function itemElementName(items: OpenApiSchema, fallback: string): string {
  return items.xml?.name ?? resolveSchema(items).xml?.name ?? fallback;
}

// ---- Writing ----------------------------------------------------------------------------

const escapeXml = (text: string): string =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

function element(name: string, value: unknown, schema: OpenApiSchema): string {
  const resolved = resolveSchema(schema);
  if (value === undefined || value === null) return '';
  if (resolved.type === 'array' && Array.isArray(value)) {
    const itemName = itemElementName(resolved.items ?? {}, name);
    const items = value.map((v) => element(itemName, v, resolved.items ?? {})).join('');
    return resolved.xml?.wrapped === true ? `<${name}>${items}</${name}>` : items;
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    const properties = resolved.properties ?? {};
    const children = Object.entries(value as Record<string, unknown>)
      .map(([key, v]) => {
        const propertySchema = properties[key] ?? {};
        const childName = propertySchema.xml?.name ?? key;
        return element(childName, v, propertySchema);
      })
      .join('');
    return `<${name}>${children}</${name}>`;
  }
  const text =
    typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
      ? String(value)
      : typeof value === 'string'
        ? value
        : JSON.stringify(value);
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/** `value` as the XML document the contract describes for `schema`. */
export function toXml(value: unknown, schema: OpenApiSchema): string {
  const resolved = resolveSchema(schema);
  const root = rootElementName(schema);
  const body =
    resolved.type === 'array' && Array.isArray(value)
      ? `<${root}>${value.map((v) => element(itemElementName(resolved.items ?? {}, 'item'), v, resolved.items ?? {})).join('')}</${root}>`
      : element(root, value, schema);
  return `<?xml version="1.0" encoding="UTF-8"?>${body}`;
}

// ---- Reading ----------------------------------------------------------------------------

const asArray = (value: unknown): unknown[] =>
  value === undefined || value === '' ? [] : Array.isArray(value) ? value : [value];

/** A text value as the scalar the schema wants, when it reads as one; else unchanged. */
function scalar(value: unknown, schema: OpenApiSchema): unknown {
  if (typeof value !== 'string') return value;
  switch (schema.type) {
    case 'integer':
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : value;
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    default:
      return value;
  }
}

function fromXmlValue(value: unknown, schema: OpenApiSchema): unknown {
  const resolved = resolveSchema(schema);
  if (resolved.type === 'object') {
    if (value === '') return {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const properties = Object.entries(resolved.properties ?? {});
    const out: Record<string, unknown> = {};
    for (const [childName, child] of Object.entries(value as Record<string, unknown>)) {
      const match = properties.find(([key, s]) => (s.xml?.name ?? key) === childName);
      // An element the schema does not have keeps its name, so that validation refuses it by name.
      out[match?.[0] ?? childName] = match ? fromXmlProperty(child, match[1], match[0]) : child;
    }
    return out;
  }
  return scalar(value, resolved);
}

function fromXmlProperty(value: unknown, schema: OpenApiSchema, name: string): unknown {
  const resolved = resolveSchema(schema);
  if (resolved.type !== 'array') return fromXmlValue(value, schema);
  const items = resolved.items ?? {};
  let list: unknown[];
  if (resolved.xml?.wrapped === true) {
    if (value === '') return [];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const itemName = itemElementName(items, name);
    const wrapper = value as Record<string, unknown>;
    // Anything else inside the wrapper is not an item: keep it visible to validation.
    if (Object.keys(wrapper).some((k) => k !== itemName)) return value;
    list = asArray(wrapper[itemName]);
  } else list = asArray(value);
  return list.map((v) => fromXmlValue(v, items));
}

const xmlParser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: true,
  maxNestedTags: 16,
});

/**
 * Reads an XML document of `schema` (the root element must be its name): the value in the JSON
 * shape the schema describes. Malformed XML, a DOCTYPE (entity expansion) or another root: 400.
 */
export function fromXml(text: string, schema: OpenApiSchema): unknown {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new AppError('bad_request', 'XML bodies may not declare a DOCTYPE or entities.');
  }
  let document: Record<string, unknown>;
  try {
    const valid = XMLValidator.validate(text);
    if (valid !== true) throw new Error(valid.err.msg);
    document = xmlParser.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new AppError('bad_request', 'The request body is not well-formed XML.', { cause: err });
  }
  const root = rootElementName(schema);
  const names = Object.keys(document);
  if (names.length !== 1 || names[0]!.toLowerCase() !== root.toLowerCase()) {
    throw new AppError('bad_request', `The XML body's root element must be <${root}>.`);
  }
  const content = document[names[0]!];
  const resolved = resolveSchema(schema);
  if (resolved.type === 'array') {
    const itemName = itemElementName(resolved.items ?? {}, 'item');
    if (content === '') return [];
    if (typeof content !== 'object' || content === null) return content;
    return asArray((content as Record<string, unknown>)[itemName]).map((v) =>
      fromXmlValue(v, resolved.items ?? {}),
    );
  }
  return fromXmlValue(content, schema);
}

// ---- Forms ------------------------------------------------------------------------------

const MAX_FORM_FIELDS = 200;

/** `tags[0][name]`, `tags.0.name`, `photoUrls[]` → ['tags', '0', 'name'], …, ['photoUrls', '']. */
function keyPath(key: string): string[] {
  const segments: string[] = [];
  for (const part of key.split('.')) {
    const match = /^([^[\]]*)((?:\[[^[\]]*\])*)$/.exec(part);
    if (!match) return [key];
    segments.push(match[1]!);
    for (const bracket of match[2]!.matchAll(/\[([^[\]]*)\]/g)) segments.push(bracket[1]!);
  }
  return segments;
}

function fromFormValue(value: unknown, schema: OpenApiSchema): unknown {
  const resolved = resolveSchema(schema);
  // A structured field may also come as JSON text: `category={"id":1,"name":"Dogs"}`.
  if (typeof value === 'string' && (resolved.type === 'object' || resolved.type === 'array')) {
    const text = value.trim();
    if (text.startsWith('{') || text.startsWith('[')) {
      try {
        return fromFormValue(JSON.parse(text) as Json, schema);
      } catch {
        return value;
      }
    }
  }
  if (resolved.type === 'array') {
    const list =
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.entries(value as Record<string, unknown>)
            .sort(([a], [b]) => Number(a) - Number(b))
            .map(([, v]) => v)
        : asArray(value);
    return list.map((v) => fromFormValue(v, resolved.items ?? {}));
  }
  if (resolved.type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const properties = resolved.properties ?? {};
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        properties[k] ? fromFormValue(v, properties[k]) : v,
      ]),
    );
  }
  return scalar(Array.isArray(value) && value.length === 1 ? value[0] : value, resolved);
}

/**
 * Reads an application/x-www-form-urlencoded body of `schema`: flat fields, repeated keys for
 * arrays, nested fields as `category[name]` / `category.name` / `tags[0][name]`, or a structured
 * field as JSON text.
 */
export function fromForm(text: string, schema: OpenApiSchema): unknown {
  const params = new URLSearchParams(text);
  const tree: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let count = 0;
  for (const [key, value] of params) {
    if (++count > MAX_FORM_FIELDS) {
      throw new AppError('bad_request', `A form body may have at most ${MAX_FORM_FIELDS} fields.`);
    }
    const path = keyPath(key);
    let node = tree;
    for (const [i, segment] of path.entries()) {
      if (['__proto__', 'constructor', 'prototype'].includes(segment)) {
        throw new AppError('bad_request', `The form field ${key} is not allowed.`);
      }
      const last = i === path.length - 1;
      if (last || (i === path.length - 2 && path[i + 1] === '')) {
        const existing = node[segment];
        node[segment] = existing === undefined ? value : [...asArray(existing), value];
        break;
      }
      const next = node[segment];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        node[segment] = Object.create(null) as Record<string, unknown>;
      }
      node = node[segment] as Record<string, unknown>;
    }
  }
  return fromFormValue({ ...tree }, schema);
}
