// JSON schemas of the REST API: Fastify validates every request against them before a handler runs.

export const streamParams = {
  type: 'object',
  required: ['streamId'],
  properties: {
    streamId: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]+$' },
  },
} as const;

export const appendBody = {
  type: 'object',
  required: ['version', 'events'],
  additionalProperties: false,
  properties: {
    version: {
      description:
        'The version tag: the version the first new event gets (1 for a new stream), or "any" / "no_stream".',
      oneOf: [
        { type: 'integer', minimum: 1 },
        { type: 'string', enum: ['any', 'no_stream'] },
      ],
    },
    events: {
      type: 'array',
      minItems: 1,
      maxItems: 10000,
      items: {
        type: 'object',
        required: ['type', 'data'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', format: 'uuid' },
          type: { type: 'string', minLength: 1, maxLength: 200 },
          data: {},
          metadata: { type: 'object' },
          schemaVersion: { type: 'integer', minimum: 1 },
          personalData: {
            type: 'object',
            required: ['subjectId', 'fields'],
            additionalProperties: false,
            properties: {
              subjectId: { type: 'string', minLength: 1, maxLength: 200 },
              fields: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 100 },
            },
          },
        },
      },
    },
  },
} as const;

export const readStreamQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'integer', minimum: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
    direction: { type: 'string', enum: ['forwards', 'backwards'], default: 'forwards' },
  },
} as const;

export const readAllQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'integer', minimum: 0, default: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
    category: { type: 'string', minLength: 1, maxLength: 200 },
    type: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 50 },
  },
} as const;

export const liveQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'integer', minimum: 0 },
    category: { type: 'string', minLength: 1, maxLength: 200 },
    type: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 50 },
  },
} as const;

export const metadataBody = { type: 'object' } as const;

export const subjectParams = {
  type: 'object',
  required: ['subjectId'],
  properties: { subjectId: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;
