/** `tracking.uri: none`: every call succeeds and nothing is recorded. */
import { randomUUID } from 'node:crypto';
import { RunBase } from './run-base.ts';
import type { StartRunOptions, TrackedRun, Tracker } from './types.ts';

class NoRun extends RunBase {
  readonly runId = randomUUID().replaceAll('-', '');
  readonly experimentId = '';
  readonly resumed = false;
  protected async writeParams(): Promise<void> {}
  protected async writeMetrics(): Promise<void> {}
  protected async writeTags(): Promise<void> {}
  protected async writeArtifact(): Promise<void> {}
  protected async finish(): Promise<void> {}
}

export class NoneTracker implements Tracker {
  readonly kind = 'none' as const;
  readonly location = 'none';
  async startRun(_options?: StartRunOptions): Promise<TrackedRun> {
    return new NoRun();
  }

  async close(): Promise<void> {}
}
