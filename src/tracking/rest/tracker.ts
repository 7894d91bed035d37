/**
 * Runs on an MLflow tracking server. Nothing is lost: when the server stays unreachable through every
 * retry, the run switches to spooling into its run directory (keeping the records in order) until a
 * periodic probe finds the server back and replays the spool, or `divd sync` does it later.
 */
import { UsageError } from '../../errors.ts';
import { listArtifactFiles } from '../artifact-files.ts';
import { RunBase } from '../run-base.ts';
import { readRunState, writeRunState, type RunState } from '../run-state.ts';
import { replaySpool } from '../spool/replay.ts';
import { LOCAL_RUN_PREFIX, newLocalRunId, Spool, type SpoolRecordBody } from '../spool/spool.ts';
import { currentUser, runTags, TAG } from '../system-tags.ts';
import type { EndStatus, KeyValue, MetricPoint, StartRunOptions, TrackedRun, Tracker } from '../types.ts';
import { toTags, validateExperimentName } from '../validate.ts';
import { MlflowClient, type CreateRunRequest } from './client.ts';
import { isUnavailable } from './errors.ts';
import { HttpClient, type HttpHooks } from './http.ts';
import { httpSettingsFromEnv, type HttpSettings } from './settings.ts';
import { toWireMetric } from './wire.ts';

export interface RestTrackerOptions {
  /** Tracking server base URL, path prefix included (`http://host:5000/mlflow`). */
  url: string;
  experiment: string;
  /** MLFLOW_EXPERIMENT_ID: use this existing experiment instead of looking the name up. */
  experimentId?: string;
  env: NodeJS.ProcessEnv;
  /** Overrides of the settings read from the environment (tests shorten the backoff). */
  settings?: Partial<HttpSettings>;
  hooks?: HttpHooks;
  /** Where to say that records are being spooled (default: stderr). */
  onWarning?: (message: string) => void;
  /** While spooling, how often to try catching up with the server (default 5 minutes). */
  recoverAfterMs?: number;
}

const RECOVER_AFTER_MS = 5 * 60_000;
/** A recovery probe must not stall the trial for the full 120 s request timeout. */
const PROBE_TIMEOUT_MS = 10_000;

type Sink = { mode: 'live' } | { mode: 'spool'; spool: Spool };

class RestRun extends RunBase {
  private warned = false;
  /** When spooling began or recovery was last tried (ms). */
  private lastRecoveryAttempt = Date.now();

  constructor(
    private readonly tracker: RestTracker,
    readonly runId: string,
    readonly experimentId: string,
    readonly resumed: boolean,
    private sink: Sink,
    private readonly runDir: string | undefined,
    private artifactUri: string | undefined,
  ) {
    super();
  }

  /** Sends live, or spools once the server has been found unreachable (or when there is no runDir, throws). */
  private async deliver(live: () => Promise<void>, body: (spool: Spool) => Promise<SpoolRecordBody>): Promise<void> {
    await this.maybeRecover();
    if (this.sink.mode === 'live') {
      try {
        return await live();
      } catch (e) {
        if (!isUnavailable(e) || !this.runDir) throw e;
        this.sink = { mode: 'spool', spool: await Spool.open(this.runDir) };
        this.lastRecoveryAttempt = Date.now();
        this.warn(`${e.message}; spooling tracking records to ${this.sink.spool.file}`);
      }
    }
    await this.sink.spool.append(await body(this.sink.spool));
  }

  /**
   * While spooling, every `recoverAfterMs` try (one attempt per request, no retries) to replay the
   * spool; if all of it goes through, log live again. A run with a `local-…` id stays spooled: its id
   * would change under the caller, so `divd sync` handles it.
   */
  private async maybeRecover(): Promise<void> {
    if (this.sink.mode !== 'spool' || this.runId.startsWith(LOCAL_RUN_PREFIX)) return;
    if (Date.now() - this.lastRecoveryAttempt < this.tracker.recoverAfterMs) return;
    this.lastRecoveryAttempt = Date.now();
    try {
      const result = await replaySpool(this.sink.spool, { clientFor: () => this.tracker.probeClient, runIds: new Map() });
      if (result.blockedOn) return;
      this.tracker.warn(`MLflow run ${this.runId}: ${this.tracker.location} is reachable again; replayed ${result.replayed} spooled record(s), logging live`);
      this.sink = { mode: 'live' };
      this.warned = false;
    } catch {
      // Still down (or a record the server refuses): keep spooling; `divd sync` reports the details.
    }
  }

  private warn(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.tracker.warn(message);
  }

  private get client(): MlflowClient {
    return this.tracker.client;
  }

  protected writeParams(params: KeyValue[]): Promise<void> {
    return this.writeBatch([], params, []);
  }
  protected writeMetrics(points: MetricPoint[]): Promise<void> {
    return this.writeBatch(points, [], []);
  }
  protected writeTags(tags: KeyValue[]): Promise<void> {
    return this.writeBatch([], [], tags);
  }

  private writeBatch(points: MetricPoint[], params: KeyValue[], tags: KeyValue[]): Promise<void> {
    const batch = { metrics: points.map(toWireMetric), params, tags };
    return this.deliver(
      async () => {
        await this.client.logBatch(this.runId, batch);
      },
      async () => ({ op: 'batch', url: this.tracker.location, run: this.runId, ...batch }),
    );
  }

  protected async writeArtifact(localPath: string, artifactDir: string): Promise<void> {
    const files = await listArtifactFiles(localPath, artifactDir);
    await this.deliver(
      async () => {
        this.artifactUri ??= (await this.client.getRun(this.runId))?.info.artifact_uri;
        if (!this.artifactUri) throw new Error(`MLflow run ${this.runId} has no artifact_uri`);
        for (const f of files) await this.client.uploadArtifact(this.artifactUri, f.artifactPath, f.local);
      },
      async (spool) => ({ op: 'artifact', url: this.tracker.location, run: this.runId, files: await spool.stashArtifacts(files) }),
    );
  }

  protected async finish(status: EndStatus, endTime: number): Promise<void> {
    await this.deliver(
      () => this.client.updateRun(this.runId, { status, endTime }),
      async () => ({ op: 'update', url: this.tracker.location, run: this.runId, status, endTime }),
    );
    if (this.sink.mode === 'spool') {
      this.tracker.warn(`MLflow run ${this.runId}: records are in ${this.sink.spool.file}; run \`divd sync <runs dir>\` once ${this.tracker.location} is reachable`);
    }
  }
}

export class RestTracker implements Tracker {
  readonly kind = 'mlflow-rest' as const;
  readonly client: MlflowClient;
  /** Same server, a single attempt per request: for recovery probes while spooling. */
  readonly probeClient: MlflowClient;
  readonly recoverAfterMs: number;
  private readonly http: HttpClient;
  private readonly probeHttp: HttpClient;
  private experimentIdCache: string | undefined;

  constructor(private readonly options: RestTrackerOptions) {
    validateExperimentName(options.experiment);
    const settings = { ...httpSettingsFromEnv(options.env), ...options.settings };
    this.http = new HttpClient(settings, options.hooks);
    this.client = new MlflowClient(options.url, this.http);
    this.probeHttp = new HttpClient(
      { ...settings, timeoutMs: Math.min(settings.timeoutMs, PROBE_TIMEOUT_MS), retry: { ...settings.retry, maxRetries: 0 } },
      options.hooks,
    );
    this.probeClient = new MlflowClient(options.url, this.probeHttp);
    this.recoverAfterMs = options.recoverAfterMs ?? RECOVER_AFTER_MS;
  }

  get location(): string {
    return this.options.url;
  }

  warn(message: string): void {
    (this.options.onWarning ?? ((m: string) => process.stderr.write(`divd: ${m}\n`)))(message);
  }

  private async experimentId(): Promise<string> {
    if (this.experimentIdCache) return this.experimentIdCache;
    const { experimentId, experiment } = this.options;
    if (experimentId) {
      const exp = await this.client.getExperiment(experimentId);
      if (exp.lifecycle_stage === 'deleted') throw new UsageError(`MLflow experiment ${experimentId} at ${this.location} is deleted; restore it or set another MLFLOW_EXPERIMENT_ID`);
      this.experimentIdCache = exp.experiment_id;
    } else {
      this.experimentIdCache = await this.client.getOrCreateExperiment(experiment);
    }
    return this.experimentIdCache;
  }

  async startRun(options: StartRunOptions = {}): Promise<TrackedRun> {
    const { runDir } = options;
    if (runDir) {
      const state = await readRunState(runDir);
      if (state?.backend === 'mlflow-rest' && state.location === this.location) {
        const resumed = await this.reattach(runDir, state);
        if (resumed) return resumed;
      }
    }
    const tags = toTags(runTags(options, this.options.env));
    const create = {
      ...(options.runName !== undefined ? { runName: options.runName } : {}),
      startTime: options.startTime ?? Date.now(),
      userId: tags.find((t) => t.key === TAG.user)?.value ?? currentUser(this.options.env),
      tags,
    };
    // A parent that exists only in a spool has no server id yet: spool the child too, so that
    // `divd sync` creates the parent first and links the child to it.
    if (runDir && options.parentRunId?.startsWith(LOCAL_RUN_PREFIX)) {
      return this.startSpooled(runDir, create, `parent run ${options.parentRunId} is not on ${this.location} yet`);
    }
    try {
      const experimentId = await this.experimentId();
      const info = await this.client.createRun({ experimentId, ...create });
      if (runDir) await writeRunState(runDir, { backend: 'mlflow-rest', location: this.location, experimentId, runId: info.run_id });
      return new RestRun(this, info.run_id, experimentId, false, { mode: 'live' }, runDir, info.artifact_uri);
    } catch (e) {
      if (!isUnavailable(e) || !runDir) throw e;
      return this.startSpooled(runDir, create, e.message);
    }
  }

  /** Server down from the start: the run is spooled under a local id that sync maps to the server's. */
  private async startSpooled(runDir: string, create: Omit<CreateRunRequest, 'experimentId'>, reason: string): Promise<RestRun> {
    const spool = await Spool.open(runDir);
    const run = newLocalRunId();
    const experimentId = this.experimentIdCache ?? this.options.experimentId;
    await spool.append({
      op: 'create',
      url: this.location,
      run,
      ...(experimentId ? { experimentId } : { experimentName: this.options.experiment }),
      ...create,
    });
    await writeRunState(runDir, { backend: 'mlflow-rest', location: this.location, experimentId: experimentId ?? '', runId: run, spooledOnly: true });
    this.warn(`${reason}; spooling tracking records to ${spool.file}`);
    return new RestRun(this, run, experimentId ?? '', false, { mode: 'spool', spool }, runDir, undefined);
  }

  /** A restarted trial: replay what it spooled, then continue the same MLflow run. */
  private async reattach(runDir: string, state: RunState): Promise<RestRun | undefined> {
    const spool = await Spool.open(runDir);
    let runId = state.runId;
    let experimentId = state.experimentId;
    try {
      // Also maps a local id to the server's when an earlier `divd sync` already replayed the create.
      const runIds = new Map<string, string>();
      const result = await replaySpool(spool, { clientFor: () => this.client, runIds });
      if (result.blockedOn) return new RestRun(this, runId, experimentId, true, { mode: 'spool', spool }, runDir, undefined);
      runId = runIds.get(runId) ?? runId;
      const run = await this.client.getRun(runId);
      if (!run) return undefined; // deleted on the server meanwhile: start a new run
      experimentId = run.info.experiment_id;
      if (state.spooledOnly || runId !== state.runId) {
        await writeRunState(runDir, { backend: 'mlflow-rest', location: this.location, experimentId, runId });
      }
      await this.client.updateRun(runId, { status: 'RUNNING' });
      return new RestRun(this, runId, experimentId, true, { mode: 'live' }, runDir, run.info.artifact_uri);
    } catch (e) {
      if (!isUnavailable(e)) throw e;
      this.warn(`${e.message}; spooling tracking records to ${spool.file}`);
      return new RestRun(this, runId, experimentId, true, { mode: 'spool', spool }, runDir, undefined);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.probeHttp.close()]);
  }
}
