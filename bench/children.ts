import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { execFileSync } from 'node:child_process';

// The servers under test run in processes of their own, apart from the load generator, so
// that each one's CPU can be measured and neither steals the other's event loop.

export interface ServerChild {
  name: string;
  pid: number;
  /** http://127.0.0.1:port, or null for a process without an HTTP server (the worker). */
  url: string | null;
  /** Lines at warn level or above the process logged (pino JSON, level >= 40). */
  logProblems(): number;
  /** Sends `message` and resolves with the first reply `reply` accepts (a value other than undefined). */
  ask<T>(message: object, reply: (m: unknown) => T | undefined): Promise<T>;
  /** Starts or stops (writing `file`) the process's CPU profiler; see servers/profiler.ts. */
  profile(action: 'start' | 'stop', file?: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ReadyMessage {
  ready: true;
  url: string | null;
}

export async function startChild(opts: {
  name: string;
  script: string;
  env: Record<string, string>;
  logFile: string;
  execArgv?: string[];
  cpu?: number;
  timeoutMs?: number;
}): Promise<ServerChild> {
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const child: ChildProcess = fork(opts.script, [], {
    env: { ...process.env, ...opts.env },
    execArgv: opts.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let problems = 0;
  let tail = '';
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString();
    log.write(text);
    tail = (tail + text).slice(-3000);
    for (const m of text.matchAll(/"level":(\d+)/g)) if (Number(m[1]) >= 40) problems++;
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.name} not ready after ${opts.timeoutMs ?? 60_000} ms:\n${tail}`)), opts.timeoutMs ?? 60_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as ReadyMessage);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${opts.name} exited with code ${code} while starting:\n${tail}`));
    });
  });
  if (opts.cpu !== undefined) pin(child.pid!, opts.cpu);

  return {
    name: opts.name,
    pid: child.pid!,
    url: ready.url,
    logProblems: () => problems,
    ask<T>(message: object, reply: (m: unknown) => T | undefined): Promise<T> {
      return new Promise((resolve, reject) => {
        const onMessage = (m: unknown) => {
          let value: T | undefined;
          try {
            value = reply(m);
          } catch (err) {
            child.off('message', onMessage);
            reject(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          if (value === undefined) return;
          child.off('message', onMessage);
          resolve(value);
        };
        child.on('message', onMessage);
        void exited.then((code) => reject(new Error(`${opts.name} exited with code ${code}`)));
        child.send(message);
      });
    },
    profile(action, file) {
      return new Promise((resolve, reject) => {
        const onMessage = (m: { profiled?: string; ok?: boolean; error?: string }) => {
          if (m?.profiled !== action) return;
          child.off('message', onMessage);
          if (m.ok) resolve();
          else reject(new Error(`${opts.name}: profiler ${action} failed: ${m.error}`));
        };
        child.on('message', onMessage);
        child.send({ profile: action, file });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // A graceful stop, so that --cpu-prof writes its profile on exit.
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(killer);
      }
      await new Promise<void>((r) => log.end(r));
    },
  };
}

/** Pins a process, all its threads included, to one CPU. */
export function pin(pid: number, cpu: number): void {
  execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
}
