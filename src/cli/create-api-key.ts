import { parseArgs } from 'node:util';
import mongoose from 'mongoose';
import { ConfigError, loadConfig } from '../config';
import { connectDatabase } from '../persistence/database';
import { Advertiser } from '../persistence/models/advertiser';
import { API_KEY_KINDS, issueApiKey, type ApiKeyKind } from '../persistence/models/api-key';
import { Publisher } from '../persistence/models/publisher';

// `npm run api-key -- --kind operator [--name NAME]` (or --kind advertiser|publisher --account ID):
// the way in for the first operator key, before any key exists to call the API with. Connects
// with the same configuration (MONGODB_URI) as the server.

const USAGE = 'usage: npm run api-key -- --kind operator|advertiser|publisher [--account ID] [--name NAME] [--expires-at ISO-8601]';

async function main(): Promise<number> {
  let values: { kind?: string; account?: string; name?: string; 'expires-at'?: string };
  try {
    ({ values } = parseArgs({ options: { kind: { type: 'string' }, account: { type: 'string' }, name: { type: 'string' }, 'expires-at': { type: 'string' } } }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const kind = values.kind as ApiKeyKind;
  if (!API_KEY_KINDS.includes(kind)) {
    console.error(`--kind must be one of ${API_KEY_KINDS.join(', ')}\n${USAGE}`);
    return 2;
  }
  if (kind === 'operator' && values.account) {
    console.error('an operator key belongs to no account: drop --account');
    return 2;
  }
  if (kind !== 'operator' && !values.account) {
    console.error(`a ${kind} key needs --account (the ${kind} id)`);
    return 2;
  }

  const expiresAt = values['expires-at'] === undefined ? null : new Date(values['expires-at']);
  if (expiresAt && !(expiresAt.getTime() > Date.now())) {
    console.error(`--expires-at must be a future date and time (ISO 8601), not "${values['expires-at']}"`);
    return 2;
  }

  const config = loadConfig();
  await connectDatabase(config.MONGODB_URI);
  try {
    if (kind !== 'operator') {
      const exists = kind === 'advertiser' ? await Advertiser.exists({ _id: values.account }) : await Publisher.exists({ _id: values.account });
      if (!exists) {
        console.error(`no ${kind} with id "${values.account}"`);
        return 1;
      }
    }
    const { key, record } = await issueApiKey({ kind, accountId: values.account ?? null, name: values.name ?? null, expiresAt });
    console.error(`created ${kind} key ${record._id}${record.accountId ? ` for ${record.accountId}` : ''}; it is shown once, store it now:`);
    console.log(key);
    return 0;
  } finally {
    await mongoose.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
