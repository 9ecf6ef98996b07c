import { Schema, model } from 'mongoose';
import { rawCollection } from '../raw-collection';

// Until when the hot paths of an API host ask the hand-over to yield the database to them
// (src/http/hot-path-load.ts writes, src/handover/handover.ts reads). One small document per
// host, written only while its hot paths are pressed; an old one says nothing, and is deleted a
// day later (hosts come and go: pods, autoscaling).

export interface HotPathPressureDoc {
  /** The API host. */
  _id: string;
  until: Date;
}

const pressureSchema = new Schema({ _id: String, until: Date }, { versionKey: false });
pressureSchema.index({ until: 1 }, { expireAfterSeconds: 86_400 });

export const HotPathPressure = model<HotPathPressureDoc>('HotPathPressure', pressureSchema, 'hot_path_pressure');
const hotPathPressure = rawCollection(HotPathPressure);

/** Extends `host`'s request to `until` (never shortens one another process of the host made). */
export async function reportPressure(host: string, until: Date): Promise<void> {
  await hotPathPressure().updateOne({ _id: host }, { $max: { until } }, { upsert: true });
}

/** Whether any API host asks for the database now (a scan of one document per host). */
export async function pressedAt(now: Date): Promise<boolean> {
  return (await hotPathPressure().findOne({ until: { $gt: now } }, { projection: { _id: 1 } })) !== null;
}
