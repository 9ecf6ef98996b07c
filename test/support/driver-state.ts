import type { MongoClient } from 'mongodb';

// What a MongoDB client's topology and server monitors are doing, read from the driver's
// internals (mongodb 7.x): for tests about src/persistence/driver-patch.ts and their diagnostics.

export interface MonitorConnection {
  id: string | number;
  closed?: boolean;
  socket: { destroy(): void };
  command(ns: { db: string; collection: string; toString(): string }, cmd: object, options: object): Promise<unknown>;
}

interface Internals {
  topology?: {
    description?: { servers: Map<string, { type: string; error?: { message?: string } | null; lastUpdateTime: number }> };
    s?: { servers?: Map<string, { monitor?: { s: { state: string }; connection: MonitorConnection | null; monitorId?: { toJSON(): object } } }> };
  };
}

const internals = (client: MongoClient) => (client as unknown as Internals).topology;

/** The connection the first server's monitor checks on. */
export function monitorConnection(client: MongoClient): MonitorConnection {
  const connection = [...(internals(client)?.s?.servers?.values() ?? [])][0]?.monitor?.connection;
  if (!connection) throw new Error('the client has no server monitor connection');
  return connection;
}

/** Each server as the client sees it, and the state of each monitor. */
export function driverState(client: MongoClient) {
  const topology = internals(client);
  return {
    servers: [...(topology?.description?.servers.values() ?? [])].map((x) => ({ type: x.type, error: x.error?.message, updatedMsAgo: Math.round(performance.now() - x.lastUpdateTime) })),
    monitors: [...(topology?.s?.servers?.values() ?? [])].map((x) => ({
      state: x.monitor?.s.state,
      connection: Boolean(x.monitor?.connection),
      connectionClosed: x.monitor?.connection?.closed,
      interval: x.monitor?.monitorId?.toJSON(),
    })),
  };
}
