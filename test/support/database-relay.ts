import { MongoClient } from 'mongodb';
import { sharedStack, startTestApp, stopAll, testDbName, type TestApp } from './harness';
import { HttpSink } from './http-sink';
import { TcpProxy } from './tcp-proxy';

// An app that reaches the shared FerretDB through a relay the test freezes and cuts, a sink for
// its postbacks, and a client straight to the same database for the test's own reads.

export interface RelayedApp {
  app: TestApp;
  sink: HttpSink;
  proxy: TcpProxy;
  direct: MongoClient;
  stop(): Promise<void>;
}

export async function startBehindRelay(env: Record<string, string>): Promise<RelayedApp> {
  const started: Partial<RelayedApp> = {};
  const stop = async () => {
    // The app stops cleanly only with its database: the relay is opened again first.
    started.proxy?.thaw();
    await started.proxy?.start().catch(() => undefined);
    await stopAll(started.app, started.direct && { stop: () => started.direct!.close() }, started.sink, started.proxy);
  };
  try {
    const shared = sharedStack();
    const mongo = new URL(shared.mongoPrefix);
    const dbName = testDbName();
    started.proxy = await new TcpProxy(mongo.hostname, Number(mongo.port)).start();
    started.sink = await new HttpSink().start();
    started.app = await startTestApp(env, { mongoUri: `mongodb://127.0.0.1:${started.proxy.port}/${dbName}` });
    started.direct = await new MongoClient(`${shared.mongoPrefix}${dbName}`).connect();
    return { ...(started as Omit<RelayedApp, 'stop'>), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
