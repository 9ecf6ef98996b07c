// The contract between a server process and the bench that forked it: a ready message over
// IPC, a graceful stop on SIGTERM or when the bench goes away.

export function announceReady(url: string | null): void {
  process.send?.({ ready: true, url });
}

export function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const run = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', run);
  process.on('SIGINT', run);
  process.on('disconnect', run);
}
