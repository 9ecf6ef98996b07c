import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkRequest {
  path: string;
  query: Record<string, string>;
  at: number;
}

/** A local HTTP server standing in for publishers' and providers' postback endpoints. */
export class HttpSink {
  readonly requests: SinkRequest[] = [];
  /** Answer 500 to this many requests first (per path prefix), to exercise retries. */
  failFirst = new Map<string, number>();
  /** Answer 302 with this Location to requests whose path starts with the key. */
  redirects = new Map<string, string>();
  /** Answer these statuses in turn (then 200) to requests whose path starts with the key. */
  statuses = new Map<string, number[]>();
  /** Called with each request's path before it is answered (to inject a fault at that moment). */
  onRequest: ((path: string) => void | Promise<void>) | null = null;
  private server!: http.Server;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://sink');
      this.requests.push({ path: u.pathname, query: Object.fromEntries(u.searchParams), at: Date.now() });
      void Promise.resolve(this.onRequest?.(u.pathname)).then(() => this.answer(u, res));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private answer(u: URL, res: http.ServerResponse): void {
    const listed = [...this.statuses.keys()].find((p) => u.pathname.startsWith(p));
    const status = listed === undefined ? undefined : this.statuses.get(listed)!.shift();
    if (status !== undefined) {
      res.writeHead(status).end(`status ${status}`);
      return;
    }
    const redirect = [...this.redirects.keys()].find((p) => u.pathname.startsWith(p));
    if (redirect !== undefined) {
      res.writeHead(302, { Location: this.redirects.get(redirect)! }).end();
      return;
    }
    const prefix = [...this.failFirst.keys()].find((p) => u.pathname.startsWith(p));
    if (prefix !== undefined && (this.failFirst.get(prefix) ?? 0) > 0) {
      this.failFirst.set(prefix, (this.failFirst.get(prefix) ?? 0) - 1);
      res.writeHead(500).end('try again');
      return;
    }
    res.writeHead(200).end('ok');
  }

  received(pathPrefix: string): SinkRequest[] {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
