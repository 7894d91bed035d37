/**
 * Writer for MLflow's FileStore tree (`mlruns/`, mlflow.md §10), safe when several trial processes
 * write into one store at once: documents are replaced atomically, params are created exclusively,
 * metric files are only appended to, and experiments are created with an atomic directory rename.
 */
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { UsageError } from '../../errors.ts';
import { listArtifactFiles } from '../artifact-files.ts';
import { tempPathFor } from '../../atomic-write.ts';
import { writeAtomic, writeOnce } from '../atomic.ts';
import type { KeyValue, MetricPoint, RunStatus } from '../types.ts';
import { parseExperimentMeta, renderExperimentMeta, renderRunMeta, RUN_STATUS_CODE, type RunMeta } from './meta.ts';

const TRASH = '.trash';
const DEFAULT_EXPERIMENT = { id: '0', name: 'Default' };

/**
 * An 18-digit id derived from the experiment name. Deterministic, so two processes creating the same
 * experiment at once race for the same directory and exactly one rename wins.
 */
export function experimentIdForName(name: string): string {
  const n = BigInt(`0x${createHash('sha256').update(name).digest('hex')}`) % 10n ** 18n;
  const digits = n.toString().padStart(18, '0');
  return digits.startsWith('0') ? `1${digits.slice(1)}` : digits;
}

export const newRunId = (): string => randomUUID().replaceAll('-', '');

const isMissing = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';

export class FileStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  experimentDir(experimentId: string): string {
    return path.join(this.root, experimentId);
  }

  runDir(experimentId: string, runId: string): string {
    return path.join(this.root, experimentId, runId);
  }

  /** Creates the root, `.trash/` and the Default experiment `0`, as MLflow does for a new store. */
  async ensureRoot(): Promise<void> {
    await fs.mkdir(path.join(this.root, TRASH), { recursive: true });
    await this.createExperimentDir(DEFAULT_EXPERIMENT.id, DEFAULT_EXPERIMENT.name);
  }

  /** Active experiment with this name, created when missing. A deleted one is an error, as in MLflow. */
  async getOrCreateExperiment(name: string, now = Date.now()): Promise<string> {
    await this.ensureRoot();
    const found = await this.findExperiment(name);
    if (found) return found;
    let id = experimentIdForName(name);
    if (!(await this.createExperimentDir(id, name, now))) {
      const again = await this.findExperiment(name);
      if (again) return again;
      // The derived id belongs to an experiment of another name (a hash collision): pick a random one.
      id = `1${Array.from({ length: 17 }, () => randomInt(10)).join('')}`;
      await this.createExperimentDir(id, name, now);
    }
    return id;
  }

  private async findExperiment(name: string): Promise<string | undefined> {
    const activeId = await this.scanForName(this.root, name);
    if (activeId) return activeId;
    const deletedId = await this.scanForName(path.join(this.root, TRASH), name);
    if (deletedId) {
      throw new UsageError(
        `experiment ${JSON.stringify(name)} is deleted in ${this.root} (id ${deletedId}); restore it ` +
          `(mlflow experiments restore --experiment-id ${deletedId}) or choose another experiment name`,
      );
    }
    return undefined;
  }

  private async scanForName(dir: string, name: string): Promise<string | undefined> {
    let entries: string[];
    try {
      entries = await fs.readdir(dir);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    for (const entry of entries.sort()) {
      if (entry.startsWith('.')) continue;
      let text: string;
      try {
        text = await fs.readFile(path.join(dir, entry, 'meta.yaml'), 'utf8');
      } catch {
        continue; // not an experiment directory (models/, a file, ...)
      }
      const meta = parseExperimentMeta(text);
      if (meta?.name === name) return meta.experimentId;
    }
    return undefined;
  }

  /**
   * Builds the experiment in a private directory, then renames it into place. Returns false when the
   * id was already taken (by a concurrent creator or an existing experiment).
   */
  private async createExperimentDir(id: string, name: string, now = Date.now()): Promise<boolean> {
    const finalDir = this.experimentDir(id);
    try {
      await fs.access(path.join(finalDir, 'meta.yaml'));
      return false;
    } catch {
      // absent: create it
    }
    // Built under .trash so that MLflow never lists the half-made directory as an active experiment.
    const staging = path.join(this.root, TRASH, `.creating-${id}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.mkdir(staging, { recursive: true });
    const meta = renderExperimentMeta({
      artifactLocation: pathToFileURL(finalDir).href,
      creationTime: now,
      experimentId: id,
      lastUpdateTime: now,
      lifecycleStage: 'active',
      name,
    });
    await fs.writeFile(path.join(staging, 'meta.yaml'), meta);
    try {
      await fs.rename(staging, finalDir);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw e;
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }

  async createRun(meta: Omit<RunMeta, 'artifactUri'>, tags: readonly KeyValue[]): Promise<RunMeta> {
    const dir = this.runDir(meta.experimentId, meta.runId);
    const full: RunMeta = { ...meta, artifactUri: pathToFileURL(path.join(dir, 'artifacts')).href };
    for (const sub of ['metrics', 'params', 'tags', 'artifacts']) await fs.mkdir(path.join(dir, sub), { recursive: true });
    await this.setTags(meta.experimentId, meta.runId, tags);
    // meta.yaml last: until it exists MLflow does not consider the directory a run.
    await this.writeRunMeta(full);
    return full;
  }

  async writeRunMeta(meta: RunMeta): Promise<void> {
    const dir = this.runDir(meta.experimentId, meta.runId);
    await writeAtomic(path.join(dir, 'meta.yaml'), renderRunMeta(meta), dir);
  }

  /** Reads back a run divd wrote earlier (for reattaching after a crash); undefined if it is gone. */
  async readRunMeta(experimentId: string, runId: string): Promise<RunMeta | undefined> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.runDir(experimentId, runId), 'meta.yaml'), 'utf8');
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    const d = parse(text) as Record<string, unknown>;
    const status = (Object.keys(RUN_STATUS_CODE) as RunStatus[]).find((s) => RUN_STATUS_CODE[s] === d.status) ?? 'RUNNING';
    return {
      artifactUri: String(d.artifact_uri),
      endTime: typeof d.end_time === 'number' ? d.end_time : null,
      experimentId: String(d.experiment_id),
      runId: String(d.run_id),
      runName: String(d.run_name ?? ''),
      startTime: Number(d.start_time),
      status,
      userId: String(d.user_id ?? ''),
    };
  }

  /** One line `<timestamp> <value> <step>` per point, appended (String(NaN) etc. parse with Python float()). */
  async logMetrics(experimentId: string, runId: string, points: readonly MetricPoint[]): Promise<void> {
    const byKey = new Map<string, string[]>();
    for (const p of points) {
      const lines = byKey.get(p.key) ?? [];
      lines.push(`${p.timestamp} ${String(p.value)} ${p.step}\n`);
      byKey.set(p.key, lines);
    }
    const dir = path.join(this.runDir(experimentId, runId), 'metrics');
    for (const [key, lines] of byKey) {
      const file = path.join(dir, key);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.appendFile(file, lines.join(''));
    }
  }

  /** Params are write-once: the same value again is fine, a different one is an error (as in MLflow). */
  async logParams(experimentId: string, runId: string, params: readonly KeyValue[]): Promise<void> {
    const runDir = this.runDir(experimentId, runId);
    for (const { key, value } of params) {
      const existing = await writeOnce(path.join(runDir, 'params', key), value, runDir);
      if (existing !== undefined && existing !== value) {
        throw new UsageError(
          `param ${JSON.stringify(key)} of run ${runId} was already logged as ${JSON.stringify(existing)}; ` +
            `MLflow params cannot change (new value ${JSON.stringify(value)})`,
        );
      }
    }
  }

  async setTags(experimentId: string, runId: string, tags: readonly KeyValue[]): Promise<void> {
    const runDir = this.runDir(experimentId, runId);
    for (const { key, value } of tags) await writeAtomic(path.join(runDir, 'tags', key), value, runDir);
  }

  /** Copies a file to `artifacts/<dir>/<basename>`, or a directory's files under `artifacts/<dir>/`. */
  async logArtifact(experimentId: string, runId: string, localPath: string, artifactDir: string): Promise<void> {
    const runDir = this.runDir(experimentId, runId);
    for (const f of await listArtifactFiles(localPath, artifactDir)) {
      const dest = path.join(runDir, 'artifacts', ...f.artifactPath.split('/'));
      await fs.mkdir(path.dirname(dest), { recursive: true });
      const tmp = tempPathFor(dest, runDir);
      await fs.copyFile(f.local, tmp);
      await fs.rename(tmp, dest);
    }
  }
}
