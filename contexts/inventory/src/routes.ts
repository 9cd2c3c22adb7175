// The inventory's command routes for the runtime's command handler: one Stock aggregate per
// `stock-<sku>` stream. (Orders reserve, release and commit stock in their own atomic appends:
// the ordering context's routes use the same decider.)
import type { ErrorCode } from '@optic-mart/platform';
import {
  commandValidator,
  streamIds,
  type CommandInput,
  type CommandRoute,
  type CommandRoutes,
} from '@optic-mart/runtime';
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

const stockStreams = streamIds({
  name: 'a stock',
  prefix: 'stock-',
  idName: 'sku',
  id: skuSchema,
  brand: Sku,
});

/** The stream of a SKU's stock: `stock-<sku>`. */
export const stockStreamId = stockStreams.streamId;

/** The SKU of a stock stream id, or null when it is not one. */
export const skuOfStock = stockStreams.idOf;

const stockCommands = commandValidator<StockCommandType>(stockCommandSchemas, {
  unknownType: 'a stock command',
});

function toStockCommand(command: CommandInput): StockCommand {
  const sku = stockStreams.requireIdOf(command.aggregateId);
  const { type, data } = stockCommands.check<object>(command.type, command.data);
  return { type, data: { ...data, sku } } as StockCommand;
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
