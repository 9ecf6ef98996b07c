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
  private server!: http.Server;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://sink');
      this.requests.push({ path: u.pathname, query: Object.fromEntries(u.searchParams), at: Date.now() });
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
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  received(pathPrefix: string): SinkRequest[] {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
