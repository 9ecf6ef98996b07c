import { MongoNetworkError } from 'mongodb';

// A workaround for a hang in the MongoDB driver (mongodb 7.8.0, lib/cmap/connection.js): a command
// on a connection whose socket closes while the command is being serialised writes to the destroyed
// socket and then waits forever for a 'drain' that never comes; no socket timeout fires on a
// destroyed socket. When that command is the server monitor's check, the monitor stays "monitoring"
// for good: the server is Unknown, every operation of the process fails server selection, and the
// process never recovers although the database is back. Seen under load after a database outage
// (delivery-given-up-db-down.test.ts); test/integration/driver-patch.test.ts reproduces it at will.
//
// The fix: a write also ends when its connection closes, with the connection's own error, so the
// command fails like any other network error and the driver's recovery (pool clear, a new check) runs.

interface DriverConnection {
  id: number | string;
  error?: Error | null;
  writeCommand(...args: unknown[]): Promise<unknown>;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

let applied = false;

export function patchMongoDriver(): void {
  if (applied) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the driver's internals are not exported
  const { Connection } = require('mongodb/lib/cmap/connection') as { Connection?: { prototype: DriverConnection } };
  const proto = Connection?.prototype;
  if (typeof proto?.writeCommand !== 'function' || typeof proto.once !== 'function') {
    throw new Error('the MongoDB driver changed: Connection.prototype.writeCommand is gone; check whether its hang on a closed connection is fixed and remove src/persistence/driver-patch.ts');
  }
  const original = proto.writeCommand;
  proto.writeCommand = function (this: DriverConnection, ...args: unknown[]): Promise<unknown> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const onClose = () => reject(this.error ?? new MongoNetworkError(`connection ${this.id} closed`));
      this.once('close', onClose);
      original.apply(this, args).then(
        (value) => {
          this.off('close', onClose);
          resolve(value);
        },
        (err: unknown) => {
          this.off('close', onClose);
          reject(err);
        },
      );
    });
  };
  applied = true;
}
