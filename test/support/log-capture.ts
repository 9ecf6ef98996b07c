import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/log';

/**
 * A logger for the app under test that keeps every line at `level` or above. The pixel answers 200
 * whatever happens and the click path starts workflows after answering, so a failure there shows
 * only as an error line: robustness tests assert there is none.
 */
export function capturingLogger(level: pino.Level = 'error'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level, base: null }, sink), lines };
}
