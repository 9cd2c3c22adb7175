/**
 * The roles `npm start` runs. Adding a role is one line here plus its `apps/<name>/src/main.ts`
 * (see README.md for what that module must export).
 */

export interface Role {
  /** Its entry point is `apps/<name>/src/main.ts`. */
  readonly name: string;
  /** Replicas when OPTIC_REPLICAS does not mention it; 0 leaves it off by default. */
  readonly defaultReplicas: number;
  /** The variable the role reads its HTTP port from, and that port's default. */
  readonly port?: { readonly env: string; readonly default: number };
  /** Serves the bounded contexts named on its command line (`--context catalog,inventory`). */
  readonly takesContexts?: boolean;
}

export const roles: readonly Role[] = [
  { name: 'eventstore', defaultReplicas: 1, port: { env: 'EVENTSTORE_PORT', default: 8081 } },
  { name: 'gateway', defaultReplicas: 1, port: { env: 'GATEWAY_PORT', default: 8080 } },
  // With no --context a worker serves every context; `worker:catalog=2` adds dedicated ones.
  { name: 'worker', defaultReplicas: 1, takesContexts: true },
  // Runs every context's projections; replicas split them and take over from one that dies.
  { name: 'projector', defaultReplicas: 1, port: { env: 'PROJECTOR_PORT', default: 8083 } },
  { name: 'stream', defaultReplicas: 1, port: { env: 'STREAM_PORT', default: 8082 } },
  // The fulfillment saga's orchestrator and the notifier; replicas share the sagas (advisory locks).
  { name: 'saga', defaultReplicas: 1, port: { env: 'SAGA_PORT', default: 8084 } },
  // A stand-in for an external payment service provider (its own ledger, schema `psp`).
  { name: 'payment-provider', defaultReplicas: 1, port: { env: 'PAYMENT_PROVIDER_PORT', default: 8090 } },
  // Next: agent (the health agent).
];

export function findRole(name: string): Role | undefined {
  return roles.find((role) => role.name === name);
}

/** A role, with the contexts its processes serve (workers), run as some number of replicas. */
export interface Unit {
  readonly role: Role;
  readonly contexts: readonly string[];
  readonly replicas: number;
}

/** How a unit is written in OPTIC_REPLICAS and in output: `eventstore`, `worker:catalog+inventory`. */
export function unitKey(role: string, contexts: readonly string[]): string {
  return contexts.length === 0 ? role : `${role}:${contexts.join('+')}`;
}

export type ReplicaCounts = ReadonlyMap<
  string,
  { role: string; contexts: readonly string[]; replicas: number }
>;

/** The table's defaults, overridden (or extended, for worker context groups) by OPTIC_REPLICAS. */
export function plannedUnits(overrides: ReplicaCounts): Unit[] {
  const units = new Map<string, Unit>();
  for (const role of roles) units.set(role.name, { role, contexts: [], replicas: role.defaultReplicas });
  for (const [key, { role, contexts, replicas }] of overrides) {
    const found = findRole(role);
    if (found !== undefined) units.set(key, { role: found, contexts, replicas });
  }
  return [...units.values()].filter((unit) => unit.replicas > 0);
}
