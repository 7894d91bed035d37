/**
 * meta.yaml documents of MLflow's FileStore (mlflow.md §10). Keys are sorted as PyYAML writes them;
 * strings are JSON string literals (valid YAML that PyYAML's safe_load reads back exactly), integers
 * bare, a missing end_time `null`. The field sets are MLflow 2.x's, which 3.x also reads.
 */
import { parse } from 'yaml';
import type { RunStatus } from '../types.ts';

export interface ExperimentMeta {
  artifactLocation: string;
  creationTime: number;
  experimentId: string;
  lastUpdateTime: number;
  lifecycleStage: 'active' | 'deleted';
  name: string;
}

export interface RunMeta {
  artifactUri: string;
  endTime: number | null;
  experimentId: string;
  runId: string;
  runName: string;
  startTime: number;
  status: RunStatus;
  userId: string;
}

/** FileStore stores the status as its protobuf enum number. */
export const RUN_STATUS_CODE: Record<RunStatus, number> = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 };
/** SourceType.LOCAL: divd always runs from a local process. */
const SOURCE_TYPE_LOCAL = 4;

const q = (s: string): string => JSON.stringify(s);

export function renderExperimentMeta(m: ExperimentMeta): string {
  return (
    `artifact_location: ${q(m.artifactLocation)}\n` +
    `creation_time: ${m.creationTime}\n` +
    `experiment_id: ${q(m.experimentId)}\n` +
    `last_update_time: ${m.lastUpdateTime}\n` +
    `lifecycle_stage: ${m.lifecycleStage}\n` +
    `name: ${q(m.name)}\n`
  );
}

export function renderRunMeta(m: RunMeta): string {
  return (
    `artifact_uri: ${q(m.artifactUri)}\n` +
    `end_time: ${m.endTime === null ? 'null' : m.endTime}\n` +
    `entry_point_name: ''\n` +
    `experiment_id: ${q(m.experimentId)}\n` +
    `lifecycle_stage: active\n` +
    `run_id: ${q(m.runId)}\n` +
    `run_name: ${q(m.runName)}\n` +
    // run_uuid duplicates run_id: MLflow 2.x readers fail without it.
    `run_uuid: ${q(m.runId)}\n` +
    `source_name: ''\n` +
    `source_type: ${SOURCE_TYPE_LOCAL}\n` +
    `source_version: ''\n` +
    `start_time: ${m.startTime}\n` +
    `status: ${RUN_STATUS_CODE[m.status]}\n` +
    `tags: []\n` +
    `user_id: ${q(m.userId)}\n`
  );
}

/**
 * Reads an experiment meta.yaml written by divd or by MLflow itself (PyYAML plain scalars, folded
 * long lines). Returns undefined for anything that is not an experiment document.
 */
export function parseExperimentMeta(text: string): Pick<ExperimentMeta, 'experimentId' | 'name' | 'lifecycleStage'> | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (d.name === undefined || d.experiment_id === undefined) return undefined;
  return {
    experimentId: String(d.experiment_id),
    name: String(d.name),
    lifecycleStage: d.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
  };
}
