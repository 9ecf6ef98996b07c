import mongoose from 'mongoose';
import type { Config } from '../config';
import { Advertiser } from './models/advertiser';
import { ApiKey } from './models/api-key';
import { BrowserSession } from './models/browser-session';
import { Asset } from './models/asset';
import { Campaign } from './models/campaign';
import { Conversion } from './models/conversion';
import { Delivery } from './models/delivery';
import { HandoverState } from './models/handover-state';
import { Inbound, RETIRED_INBOUND_INDEXES, inbounds } from './models/inbound';
import { Provider } from './models/provider';
import { Publisher } from './models/publisher';
import { RETIRED_SESSION_INDEXES, Session, sessions } from './models/session';
import { Support } from './models/support';
import { patchMongoDriver } from './driver-patch';
import { setOperationBudget } from './operation-budget';
import { dropRetiredIndexes } from './retired-indexes';
import { retryingDeadlocks } from './index-ddl';
import { Rollup, RollupDirty, RollupState } from '../reports/rollup-store';
import { HotPathPressure } from './models/hot-path-pressure';

export const MODELS = [Advertiser, Campaign, Asset, Publisher, Support, Provider, Session, Conversion, Delivery, Inbound, ApiKey, BrowserSession, Rollup, RollupDirty, RollupState, HandoverState, HotPathPressure];

/**
 * A worker's driver pool is bounded (WORKER_MONGO_POOL_SIZE), so its operations queue in the worker
 * rather than in the database. An API process keeps the driver's default, and so does ROLE=all,
 * where the hot paths share the process's pool. Set here, it wins over a maxPoolSize in MONGODB_URI.
 */
export function poolOptions(c: Pick<Config, 'ROLE' | 'WORKER_MONGO_POOL_SIZE'>): { maxPoolSize?: number } {
  return c.ROLE === 'worker' ? { maxPoolSize: c.WORKER_MONGO_POOL_SIZE } : {};
}

/**
 * Connects mongoose and creates every index before anything is served (not in the background:
 * the unique indexes are what make conversions count once).
 */
export async function connectDatabase(uri: string, operationBudgetMs = 2_000, o: { maxPoolSize?: number } = {}): Promise<void> {
  setOperationBudget(operationBudgetMs);
  patchMongoDriver();
  mongoose.set('autoIndex', false);
  mongoose.set('strictQuery', true);
  // Polling, not the streaming hello: under `npm run chaos` (database frozen, thawed, then
  // restarted under load) the streaming monitor of the 7.x driver was left "monitoring" on a
  // closed connection forever, and every operation failed server selection long after the
  // database was back. A polled check could still hang the same way, on a command sent as its
  // connection closed: driver-patch.ts makes such a command fail.
  await mongoose.connect(uri, { serverSelectionTimeoutMS: 10_000, serverMonitoringMode: 'poll', ...o });
  for (const model of MODELS) await retryingDeadlocks(() => model.createIndexes());
  // After the new ones exist: a process of the earlier version still running keeps an index to read by.
  await dropRetiredIndexes(sessions(), RETIRED_SESSION_INDEXES);
  await dropRetiredIndexes(inbounds(), RETIRED_INBOUND_INDEXES);
}
