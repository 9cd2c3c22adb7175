/**
 * From the role table and the configuration to the list of processes to run: one entry per
 * replica, each with its name, command-line arguments and HTTP port.
 */
import { createServer } from 'node:net';
import { plannedUnits, unitKey } from './roles.js';
import type { Role } from './roles.js';
import type { SupervisorConfig } from './config.js';

export interface PlannedProcess {
  /** `eventstore`, or with several replicas `eventstore.1`, `eventstore.2`, … */
  readonly name: string;
  readonly role: Role;
  /** The role's command-line arguments (`--context catalog,inventory` for a worker). */
  readonly args: readonly string[];
  /** Its HTTP port and the variable that tells it, when the role serves HTTP. */
  readonly port?: { readonly env: string; readonly value: number };
}

/**
 * The first replica of a role listens on the role's configured port. Further replicas (on
 * one machine they cannot share it) get free ports above it, kept for the supervisor's life
 * so a restarted replica comes back where it was.
 */
export async function planProcesses(config: SupervisorConfig, options: { oneEach?: boolean } = {}) {
  const units = plannedUnits(config.replicas);
  const configuredPorts = new Set(Object.values(config.rolePorts));
  const taken = new Set<number>();
  const planned: PlannedProcess[] = [];
  for (const unit of units) {
    const key = unitKey(unit.role.name, unit.contexts);
    const replicas = options.oneEach === true ? 1 : unit.replicas;
    for (let replica = 1; replica <= replicas; replica++) {
      let port: PlannedProcess['port'];
      if (unit.role.port !== undefined) {
        const base = config.rolePorts[unit.role.port.env] ?? unit.role.port.default;
        const value = taken.has(base) ? await freePortAbove(base, configuredPorts, taken) : base;
        taken.add(value);
        port = { env: unit.role.port.env, value };
      }
      planned.push({
        name: replicas === 1 ? key : `${key}.${replica}`,
        role: unit.role,
        args: unit.contexts.length === 0 ? [] : ['--context', unit.contexts.join(',')],
        ...(port === undefined ? {} : { port }),
      });
    }
  }
  return planned;
}

async function freePortAbove(base: number, reserved: ReadonlySet<number>, taken: ReadonlySet<number>) {
  for (let port = base + 1; port <= 65535; port++) {
    if (!reserved.has(port) && !taken.has(port) && (await isPortFree(port))) return port;
  }
  throw new Error(`no free port above ${base}`);
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen({ port, exclusive: true }, () => probe.close(() => done(true)));
  });
}
