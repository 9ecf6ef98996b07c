import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

// The V8 CPU profiler (what `node --cpu-prof` uses), switched on and off by the bench over IPC
// so that a profile covers exactly one measured run, not start-up, idle drains or shutdown.

export interface ProfileMessage {
  profile: 'start' | 'stop';
  /** Where to write the .cpuprofile on stop. */
  file?: string;
}

export function serveProfiler(): void {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));

  process.on('message', (m: ProfileMessage) => {
    if (!m || typeof m !== 'object' || !('profile' in m)) return;
    const done = (result: object) => process.send?.({ profiled: m.profile, ...result });
    const run =
      m.profile === 'start'
        ? post('Profiler.enable').then(() => post('Profiler.setSamplingInterval', { interval: 500 })).then(() => post('Profiler.start'))
        : post('Profiler.stop').then((res) => {
            writeFileSync(m.file!, JSON.stringify((res as { profile: object }).profile));
            return post('Profiler.disable');
          });
    run.then(
      () => done({ ok: true }),
      (err) => done({ ok: false, error: String(err) }),
    );
  });
}
