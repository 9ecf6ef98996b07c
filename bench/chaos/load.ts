// The steady traffic a chaos scenario runs under: clicks at a fixed rate, and for every other
// answered click a postback, sent again like an advertiser's system would (after a 503 or a
// network error, every second) until it is answered or its deadline passes.

export interface LoadOptions {
  apiUrl: string;
  clickPath: (i: number) => string;
  token: string;
  txidPrefix: string;
  clicks: number;
  clicksPerSec: number;
  /** A postback for one click in this many. */
  postbackEvery: number;
  /** How long after the last click a postback may still be retried. */
  postbackRetryMs: number;
}

export interface LoadResult {
  sessionIds: string[];
  clicksFailed: number;
  clickFailures: string[];
  clickLatencyMs: number[];
  /** Request ids of postbacks answered 202. */
  accepted: string[];
  /** Postbacks answered 200 (already counted: a retry of one accepted before its answer was lost). */
  duplicates: number;
  /** Postbacks answered with another final status (4xx): not accepted, said why. */
  refused: Record<string, number>;
  /** Answers that asked for a retry (503) or no answer at all, each followed by a retry. */
  retries: number;
  givenUp: number;
}

const CLICK_TIMEOUT_MS = 30_000;

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const r: LoadResult = { sessionIds: [], clicksFailed: 0, clickFailures: [], clickLatencyMs: [], accepted: [], duplicates: 0, refused: {}, retries: 0, givenUp: 0 };
  const started = performance.now();
  const clicksDone: Promise<void>[] = [];
  const postbacks: Promise<void>[] = [];
  for (let i = 0; i < o.clicks; i++) {
    const due = started + (i * 1000) / o.clicksPerSec;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    clicksDone.push(
      click(o, i, r).then((sessionId) => {
        if (sessionId && i % o.postbackEvery === 0) postbacks.push(postback(o, sessionId, `${o.txidPrefix}-${i}`, r, started + (o.clicks * 1000) / o.clicksPerSec + o.postbackRetryMs));
      }),
    );
  }
  await Promise.all(clicksDone);
  await Promise.all(postbacks);
  return r;
}

async function click(o: LoadOptions, i: number, r: LoadResult): Promise<string | null> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${o.apiUrl}${o.clickPath(i)}`, { redirect: 'manual', signal: AbortSignal.timeout(CLICK_TIMEOUT_MS) });
    await res.arrayBuffer();
    r.clickLatencyMs.push(performance.now() - t0);
    const cid = res.status === 302 ? new URL(res.headers.get('location') ?? '', 'http://x').searchParams.get('cid') : null;
    if (cid) {
      r.sessionIds.push(cid);
      return cid;
    }
    fail(r, `click ${i}: ${res.status}`);
  } catch (err) {
    r.clickLatencyMs.push(performance.now() - t0);
    fail(r, `click ${i}: ${String(err)}`);
  }
  return null;
}

function fail(r: LoadResult, why: string): void {
  r.clicksFailed++;
  if (r.clickFailures.length < 10) r.clickFailures.push(why);
}

async function postback(o: LoadOptions, sessionId: string, txid: string, r: LoadResult, deadline: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  const url = `${o.apiUrl}/postback?${new URLSearchParams({ click_id: sessionId, event: 'registration', txid })}`;
  for (;;) {
    let status = 0;
    let body: { request_id?: string } = {};
    try {
      const res = await fetch(url, { headers: { 'X-Clicktrail-Token': o.token }, signal: AbortSignal.timeout(CLICK_TIMEOUT_MS) });
      status = res.status;
      body = (await res.json()) as typeof body;
    } catch {
      status = 0;
    }
    if (status === 202 && body.request_id) return void r.accepted.push(body.request_id);
    if (status === 200) return void r.duplicates++;
    if (status !== 0 && status !== 503) return void (r.refused[status] = (r.refused[status] ?? 0) + 1);
    if (performance.now() > deadline) return void r.givenUp++;
    r.retries++;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
