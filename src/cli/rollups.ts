import { parseArgs } from 'node:util';
import mongoose from 'mongoose';
import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../log';
import { connectDatabase } from '../persistence/database';
import { RollupWriter } from '../reports/rollup-writer';
import { rebuildRollups, verifyRollups } from '../reports/rollup-verify';

// `npm run rollups -- rebuild|verify --from ISO --to ISO`, `npm run rollups -- drain`: report
// rollups from the raw data (history, repair), a check against a raw recount, or one pass of the
// writer. Same configuration (MONGODB_URI, ROLLUP_*, SESSION_RETENTION_DAYS) as the server.

const USAGE = 'usage: npm run rollups -- rebuild|verify --from 2024-03-01[T00:00:00Z] --to 2024-03-02 | drain';

async function main(): Promise<number> {
  let parsed: { values: { from?: string; to?: string }; positionals: string[] };
  try {
    parsed = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' } }, allowPositionals: true });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command] = parsed.positionals;
  const from = new Date(parsed.values.from ?? '');
  const to = new Date(parsed.values.to ?? '');
  if (command !== 'drain' && (command !== 'rebuild' && command !== 'verify')) {
    console.error(USAGE);
    return 2;
  }
  if (command !== 'drain' && (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from)) {
    console.error(`--from and --to must be ISO 8601 dates or date-times, --to after --from\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'rollups');
  const writer = new RollupWriter({ log, leaseMs: config.ROLLUP_LEASE_MS, lateMs: config.ROLLUP_LATE_MS, retentionMs: config.SESSION_RETENTION_DAYS * 86_400_000 });
  await connectDatabase(config.MONGODB_URI);
  try {
    if (command === 'drain') {
      console.log(JSON.stringify({ blocks: await writer.drain() }));
      return 0;
    }
    if (command === 'rebuild') {
      console.log(JSON.stringify(await rebuildRollups(from, to, writer)));
      return 0;
    }
    const differences = await verifyRollups(from, to);
    console.log(JSON.stringify({ differences: differences.length, sample: differences.slice(0, 20) }, null, 2));
    return differences.length === 0 ? 0 : 1;
  } finally {
    await mongoose.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
