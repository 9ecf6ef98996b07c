import type { Logger } from '../log';
import { sessions } from './models/session';

/**
 * Marks the sessions whose workflow the click path has started, in one write per batch instead
 * of one per click. A mark that is lost (crash, database error) only costs the recovery sweep a
 * no-op start of that session later.
 */
export class StartedMarks {
  private ids: string[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly delayMs = 200,
  ) {}

  add(sessionId: string): void {
    this.ids.push(sessionId);
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.delayMs);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ids = this.ids.splice(0);
    if (ids.length === 0) return;
    try {
      // One update per id, filtered on _id alone: FerretDB pushes only that down to SQLite.
      await sessions().bulkWrite(
        ids.map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { workflowStarted: true } } } })),
        { ordered: false },
      );
    } catch (err) {
      this.log.warn({ sessions: ids.length, err: String(err) }, 'could not mark started sessions; the recovery sweep will');
    }
  }
}
