/** The offline default: runs written straight into an `mlruns/` tree that `mlflow ui` reads. */
import { RunBase } from '../run-base.ts';
import { readRunState, writeRunState } from '../run-state.ts';
import { currentUser, runTags, TAG } from '../system-tags.ts';
import type { EndStatus, KeyValue, MetricPoint, StartRunOptions, TrackedRun, Tracker } from '../types.ts';
import { toTags, validateExperimentName } from '../validate.ts';
import { FileStore, newRunId } from './store.ts';
import type { RunMeta } from './meta.ts';

class FileStoreRun extends RunBase {
  constructor(
    private readonly store: FileStore,
    private meta: RunMeta,
    readonly resumed: boolean,
  ) {
    super();
  }
  get runId(): string {
    return this.meta.runId;
  }
  get experimentId(): string {
    return this.meta.experimentId;
  }
  protected writeParams(params: KeyValue[]): Promise<void> {
    return this.store.logParams(this.experimentId, this.runId, params);
  }
  protected writeMetrics(points: MetricPoint[]): Promise<void> {
    return this.store.logMetrics(this.experimentId, this.runId, points);
  }
  protected writeTags(tags: KeyValue[]): Promise<void> {
    return this.store.setTags(this.experimentId, this.runId, tags);
  }
  protected writeArtifact(localPath: string, artifactDir: string): Promise<void> {
    return this.store.logArtifact(this.experimentId, this.runId, localPath, artifactDir);
  }
  protected async finish(status: EndStatus, endTime: number): Promise<void> {
    this.meta = { ...this.meta, status, endTime };
    await this.store.writeRunMeta(this.meta);
  }
}

export class FileStoreTracker implements Tracker {
  readonly kind = 'filestore' as const;
  private readonly store: FileStore;

  constructor(
    root: string,
    private readonly experimentName: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    validateExperimentName(experimentName);
    this.store = new FileStore(root);
  }

  get location(): string {
    return this.store.root;
  }

  async close(): Promise<void> {}

  async startRun(options: StartRunOptions = {}): Promise<TrackedRun> {
    const experimentId = await this.store.getOrCreateExperiment(this.experimentName);
    if (options.runDir) {
      const resumed = await this.reattach(options.runDir);
      if (resumed) return resumed;
    }
    const tags = toTags(runTags(options, this.env));
    const runId = newRunId();
    const meta = await this.store.createRun(
      {
        endTime: null,
        experimentId,
        runId,
        runName: options.runName ?? runId,
        startTime: options.startTime ?? Date.now(),
        status: 'RUNNING',
        userId: tags.find((t) => t.key === TAG.user)?.value ?? currentUser(this.env),
      },
      // MLflow fills mlflow.runName from run_name; do the same so the UI shows a name.
      tags.some((t) => t.key === TAG.runName) ? tags : [...tags, { key: TAG.runName, value: runId }],
    );
    if (options.runDir) {
      await writeRunState(options.runDir, { backend: 'filestore', location: this.store.root, experimentId, runId });
    }
    return new FileStoreRun(this.store, meta, false);
  }

  private async reattach(runDir: string): Promise<FileStoreRun | undefined> {
    const state = await readRunState(runDir);
    if (state?.backend !== 'filestore' || state.location !== this.store.root) return undefined;
    const meta = await this.store.readRunMeta(state.experimentId, state.runId);
    if (!meta) return undefined; // the run was removed from the store: start afresh
    const running: RunMeta = { ...meta, status: 'RUNNING', endTime: null };
    await this.store.writeRunMeta(running);
    return new FileStoreRun(this.store, running, true);
  }
}
