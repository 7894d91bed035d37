/**
 * `<runDir>/tracking.json`: which tracker run a trial's run directory belongs to, so a trial restarted
 * after a crash reattaches to the same MLflow run instead of creating a second one.
 */
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { readJsonIfExists, writeAtomic } from './atomic.ts';

export const RUN_STATE_FILE = 'tracking.json';

export interface RunState {
  backend: 'mlflow-rest' | 'filestore';
  /** Server URL or absolute mlruns path: a state for another destination is ignored. */
  location: string;
  experimentId: string;
  runId: string;
  /** REST only: the run exists only in the spool so far (server was down at start). */
  spooledOnly?: boolean;
}

export async function readRunState(runDir: string): Promise<RunState | undefined> {
  const file = path.join(runDir, RUN_STATE_FILE);
  let state: RunState | undefined;
  try {
    state = await readJsonIfExists<RunState>(file);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message}); delete it to start a new tracker run`);
  }
  if (state === undefined) return undefined;
  if (typeof state.runId !== 'string' || typeof state.experimentId !== 'string' || typeof state.location !== 'string') {
    throw new UsageError(`${file}: expected {backend, location, experimentId, runId}; delete it to start a new tracker run`);
  }
  return state;
}

export async function writeRunState(runDir: string, state: RunState): Promise<void> {
  await writeAtomic(path.join(runDir, RUN_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}
