import http from 'node:http';
import type { AddressInfo } from 'node:net';

// The publisher's postback endpoint for the chaos run, on 127.0.0.1 in the runner's process. It can
// fail (500), time out (hold the request without answering until the client gives up), or answer
// 200. Only a 200 is a postback the publisher took: those are counted per conversion and status, so
// a second 200 for the same pair is a publisher paid twice.

export type SinkMode = 'ok' | 'fail' | 'hang';

export class PublisherSink {
  mode: SinkMode = 'ok';
  /** `${campaign}|${conversion}|${status}` → 200 answers */
  private readonly taken = new Map<string, number>();
  /** Requests by how they were answered, since the last `resetAnswered()`. */
  answered: Record<SinkMode, number> = { ok: 0, fail: 0, hang: 0 };
  private readonly held = new Set<http.ServerResponse>();
  private server: http.Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://sink').searchParams;
      const mode = this.mode;
      this.answered[mode]++;
      if (mode === 'fail') return void res.writeHead(500, { 'Content-Type': 'text/plain' }).end('publisher down');
      if (mode === 'hang') {
        this.held.add(res);
        res.once('close', () => this.held.delete(res));
        return;
      }
      const key = `${q.get('cmp')}|${q.get('conv')}|${q.get('status')}`;
      this.taken.set(key, (this.taken.get(key) ?? 0) + 1);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  resetAnswered(): void {
    this.answered = { ok: 0, fail: 0, hang: 0 };
  }

  /** Back to answering; requests held while hanging are cut (their sender has long given up). */
  setMode(mode: SinkMode): void {
    this.mode = mode;
    if (mode !== 'hang') for (const res of this.held) res.destroy();
  }

  /** Distinct conversions taken for the campaign, and 200 answers beyond the first per conversion and status. */
  received(campaignId: string): { distinct: number; duplicates: number } {
    const conversions = new Set<string>();
    let duplicates = 0;
    for (const [key, n] of this.taken) {
      const [cmp, conv] = key.split('|');
      if (cmp !== campaignId) continue;
      conversions.add(conv!);
      duplicates += n - 1;
    }
    return { distinct: conversions.size, duplicates };
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.setMode('ok');
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }
}
