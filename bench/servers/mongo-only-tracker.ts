import mongoose from 'mongoose';
import { v7 as uuidv7 } from 'uuid';
import { baselineApp, serve } from './baseline-http';

// Baseline (b): what a typical tracker does on a click. Insert the session document (same
// driver, same kind of document, acknowledged write), then 302 with the click id in the URL.
// No configuration lookup, no enrichment, no workflow.

async function main(): Promise<void> {
  const uri = process.env.BENCH_MONGO_URI;
  if (!uri) throw new Error('BENCH_MONGO_URI is required');
  const client = await new mongoose.mongo.MongoClient(uri).connect();
  const sessions = client.db().collection<{ _id: string; [field: string]: unknown }>('sessions');

  const app = baselineApp();
  app.get('/c/:campaignId', async (req, res) => {
    const now = Date.now();
    const query = req.query as Record<string, string>;
    const id = uuidv7();
    await sessions.insertOne({
      _id: id,
      campaignId: req.params.campaignId,
      publisherId: query.pub,
      assetId: query.asset ?? null,
      supportId: query.sup ?? null,
      ip: req.ip,
      userAgent: req.get('user-agent') ?? null,
      referrer: req.get('referer') ?? null,
      publisherData: { ...query },
      createdAt: new Date(now),
      expiresAt: new Date(now + 30 * 24 * 3600 * 1000),
      status: 'open',
    });
    res.writeHead(302, { Location: `https://shop.example/landing?cid=${id}`, 'Cache-Control': 'no-store' });
    res.end();
  });

  serve(app, () => client.close());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
