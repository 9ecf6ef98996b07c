import mongoose from 'mongoose';
import { v7 as uuidv7 } from 'uuid';
import { baselineApp, serve } from './baseline-http';

// Baseline (e): what a postback costs a tracker without a workflow engine. Find the session by
// its id, insert the conversion (acknowledged write), answer 202 JSON. No token check, no rules,
// no payout, no delivery.

async function main(): Promise<void> {
  const uri = process.env.BENCH_MONGO_URI;
  if (!uri) throw new Error('BENCH_MONGO_URI is required');
  const client = await new mongoose.mongo.MongoClient(uri).connect();
  const db = client.db();
  const sessions = db.collection<{ _id: string; campaignId: string; publisherId: string }>('sessions');
  const conversions = db.collection<{ _id: string; [field: string]: unknown }>('conversions');

  const app = baselineApp();
  app.get('/postback', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const session = q.click_id ? await sessions.findOne({ _id: q.click_id }, { projection: { campaignId: 1, publisherId: 1 } }) : null;
    if (!session) {
      res.status(404).json({ error: 'unknown click id' });
      return;
    }
    await conversions.insertOne({
      _id: uuidv7(),
      sessionId: session._id,
      campaignId: session.campaignId,
      publisherId: session.publisherId,
      event: q.event ?? null,
      txid: q.txid ?? null,
      amount: q.amount ?? null,
      currency: q.currency ?? null,
      createdAt: new Date(),
    });
    res.status(202).json({ status: 'accepted', session_id: session._id });
  });

  serve(app, () => client.close());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
