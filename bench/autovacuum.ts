import { execFile } from 'node:child_process';
import path from 'node:path';
import { POSTGRES_BIN } from '../src/local-stack/local-stack';

// PostgreSQL's autovacuum shares the database core with everything a report waits on. After a
// bulk seed it vacuums and analyses the big tables for minutes: a timed report that overlaps it is
// slower for a reason that is not the report's. This samples which tables it works on, once a
// second, so that the results can say so.

export interface AutovacuumWindow {
  /** The share of samples in the window with an autovacuum worker running. */
  busyShare: number;
  /** What the workers were doing ("VACUUM public.documents_12", "ANALYZE …"), each once. */
  work: string[];
}

const SQL = "SELECT coalesce(string_agg(query, '|'), '') FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'";

export function watchAutovacuum(pgDir: string, everyMs = 1000) {
  const samples: { t: number; work: string[] }[] = [];
  let stopped = false;
  const poll = () => {
    if (stopped) return;
    execFile(path.join(POSTGRES_BIN, 'psql'), ['-h', pgDir, '-U', 'postgres', '-d', 'postgres', '-X', '-A', '-t', '-c', SQL], { timeout: 5000 }, (err, stdout) => {
      if (!err) {
        const work = stdout.trim().split('|').filter(Boolean).map((q) => q.replace(/^autovacuum:\s*/, ''));
        samples.push({ t: Date.now(), work });
      }
      if (!stopped) setTimeout(poll, everyMs);
    });
  };
  poll();
  return {
    /** What autovacuum did between `from` and `to` (ms since the epoch). */
    window(from: number, to: number): AutovacuumWindow {
      const inside = samples.filter((s) => s.t >= from && s.t <= to);
      return {
        busyShare: inside.length ? Math.round((inside.filter((s) => s.work.length > 0).length / inside.length) * 100) / 100 : 0,
        work: [...new Set(inside.flatMap((s) => s.work))],
      };
    },
    stop() {
      stopped = true;
    },
  };
}
