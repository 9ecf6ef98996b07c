import mongoose from 'mongoose';
import { Advertiser } from './models/advertiser';
import { ApiKey } from './models/api-key';
import { Asset } from './models/asset';
import { Campaign } from './models/campaign';
import { Conversion } from './models/conversion';
import { Delivery } from './models/delivery';
import { Inbound } from './models/inbound';
import { Provider } from './models/provider';
import { Publisher } from './models/publisher';
import { Session } from './models/session';
import { Support } from './models/support';
import { Rollup, RollupDirty, RollupState } from '../reports/rollup-store';

export const MODELS = [Advertiser, Campaign, Asset, Publisher, Support, Provider, Session, Conversion, Delivery, Inbound, ApiKey, Rollup, RollupDirty, RollupState];

/**
 * Connects mongoose and creates every index before anything is served (not in the background:
 * the unique indexes are what make conversions count once).
 */
export async function connectDatabase(uri: string): Promise<void> {
  mongoose.set('autoIndex', false);
  mongoose.set('strictQuery', true);
  await mongoose.connect(uri, { serverSelectionTimeoutMS: 10_000 });
  for (const model of MODELS) await model.createIndexes();
}
