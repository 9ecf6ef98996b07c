import http from 'node:http';
import type { AddressInfo } from 'node:net';

// The publisher's postback endpoint, on loopback in the bench process: it answers 200 at once
// and remembers when each click id's postback first arrived (performance.now(), the clock the
// end-to-end driver uses for the click).

export class PostbackSink {
  /** click id → first arrival (ms, performance.now()) */
  readonly firstArrival = new Map<string, number>();
  requests = 0;
  /** campaign id → postbacks received */
  readonly perCampaign = new Map<string, number>();
  private server: http.Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.requests++;
      const params = new URL(req.url ?? '/', 'http://sink').searchParams;
      const cid = params.get('cid');
      const cmp = params.get('cmp') ?? '';
      this.perCampaign.set(cmp, (this.perCampaign.get(cmp) ?? 0) + 1);
      if (cid && !this.firstArrival.has(cid)) this.firstArrival.set(cid, performance.now());
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  received(campaignId: string): number {
    return this.perCampaign.get(campaignId) ?? 0;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }
}
