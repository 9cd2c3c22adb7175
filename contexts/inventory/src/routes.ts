// The inventory's command routes for the runtime's command handler: one Stock aggregate per
// `stock-<sku>` stream. (Orders reserve, release and commit stock in their own atomic appends:
// the ordering context's routes use the same decider.)
import { Ajv, type ValidateFunction } from 'ajv';
import type { ErrorCode } from '@optic-mart/platform';
import { DomainError, type CommandInput, type CommandRoute, type CommandRoutes } from '@optic-mart/runtime';
import { Sku, skuSchema } from '@optic-mart/catalog';
import { stockCommandSchemas } from './commands.js';
import {
  stockDecider,
  stockErrorCodes,
  type Stock,
  type StockCommand,
  type StockCommandType,
  type StockEvent,
} from './domain/stock.js';

// Every code the decider throws must be a line of the platform's error table.
const _stockErrorCodes: readonly ErrorCode[] = stockErrorCodes;

const STOCK_PREFIX = 'stock-';
const skuPattern = new RegExp(skuSchema.pattern);

/** The stream of a SKU's stock: `stock-<sku>`. */
export const stockStreamId = (sku: string): string => STOCK_PREFIX + sku;

/** The SKU of a stock stream id, or null when it is not one. */
export function skuOfStock(streamId: string): Sku | null {
  if (!streamId.startsWith(STOCK_PREFIX)) return null;
  const sku = streamId.slice(STOCK_PREFIX.length);
  return skuPattern.test(sku) ? Sku(sku) : null;
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validators = Object.fromEntries(
  Object.entries(stockCommandSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
) as Record<StockCommandType, ValidateFunction>;

const isStockCommandType = (type: string): type is StockCommandType =>
  Object.hasOwn(stockCommandSchemas, type);

function toStockCommand(command: CommandInput): StockCommand {
  const sku = skuOfStock(command.aggregateId);
  if (sku === null) {
    throw new DomainError(
      'validation_failed',
      `${command.aggregateId} is not a stock stream id (stock-<sku>)`,
    );
  }
  const { type } = command;
  if (!isStockCommandType(type)) throw new DomainError('bad_request', `${type} is not a stock command`);
  const validate = validators[type];
  if (!validate(command.data)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`,
    );
    throw new DomainError('validation_failed', `Invalid ${type}: ${problems.join('; ')}.`);
  }
  return { type, data: { ...(command.data as object), sku } } as StockCommand;
}

/** Snapshots of stock: bump schemaVersion when Stock's shape changes. */
export const stockSnapshot = { type: 'stock', schemaVersion: 1 } as const;

/** The route of every stock command. */
export const stockCommandRoute: CommandRoute<StockCommand, StockEvent, Stock> = {
  decider: stockDecider,
  toCommand: toStockCommand,
  snapshot: stockSnapshot,
};

/** The inventory's routes by command type, for `createCommandHandler`. */
export const inventoryCommandRoutes: CommandRoutes = Object.fromEntries(
  Object.keys(stockCommandSchemas).map((type) => [type, stockCommandRoute]),
);
