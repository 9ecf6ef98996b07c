import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

// clicktrail as its own process (src/main.ts through tsx), for tests about what one request can
// do to the process (a test running in the same process would be stalled with it), and for
// several API and worker processes against one stack.

export interface ApiProcess {
  /** The HTTP server's base URL; empty for ROLE=worker. */
  url: string;
  pid: number;
  /** Lines the process wrote, for failure messages. */
  output: string[];
  stop(): Promise<void>;
  /** SIGKILL: no shutdown, no clean-up, as a crashed or evicted process. */
  kill(): Promise<void>;
}

/** ROLE=api unless `env` says otherwise. */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const root = path.resolve(__dirname, '../..');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ROLE: 'api', HTTP_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (output.length < 1000) output.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; http?: string };
          if (entry.msg === 'clicktrail started') resolve(entry.http ?? '');
        } catch {
          // not a log line
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the API process exited (${code}) before it started:\n${output.join('\n')}`)));
  });
  return {
    url,
    pid: child.pid!,
    output,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killed);
    },
  };
}
