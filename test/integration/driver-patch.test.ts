import { MongoClient } from 'mongodb';
import { patchMongoDriver } from '../../src/persistence/driver-patch';
import { monitorConnection } from '../support/driver-state';
import { sharedStack, testDbName } from '../support/harness';

// src/persistence/driver-patch.ts: a command whose connection closes as it is being sent must fail,
// not wait forever. Unpatched (mongodb 7.8.0) this command never settles, and when it is the
// server monitor's check the process loses its database for good.

let client: MongoClient;
beforeAll(async () => {
  patchMongoDriver();
  client = await new MongoClient(`${sharedStack().mongoPrefix}${testDbName()}`, { serverMonitoringMode: 'poll' }).connect();
});
afterAll(() => client?.close());

test('a command on a connection closed while it is sent fails with the connection error, and the client goes on', async () => {
  // The monitor's own connection: the one whose hung check wedged the app.
  const connection = monitorConnection(client);
  const sent = connection.command({ db: 'admin', collection: '$cmd', toString: () => 'admin.$cmd' }, { ping: 1 }, { socketTimeoutMS: 3000 });
  // The peer resets the socket before the command reaches it.
  connection.socket.destroy();
  const outcome = await Promise.race([
    sent.then(
      () => 'answered',
      (err: Error) => err.message,
    ),
    new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000).unref()),
  ]);
  expect(outcome).toBe(`connection ${connection.id} to ${new URL(sharedStack().mongoPrefix).host} closed`);
  expect(await client.db().command({ ping: 1 })).toMatchObject({ ok: 1 });
});

test('applying the patch twice wraps the driver once', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the same internals the patch reads
  const { Connection } = require('mongodb/lib/cmap/connection') as { Connection: { prototype: { writeCommand: unknown } } };
  const once = Connection.prototype.writeCommand;
  patchMongoDriver();
  expect(Connection.prototype.writeCommand).toBe(once);
});
