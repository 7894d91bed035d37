/**
 * `divd sync`: finds every spool under a runs directory and replays it. Parents before children:
 * a spool whose run hangs under a parent that is itself still only spooled waits for a later pass.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { MlflowClient } from '../rest/client.ts';
import { isUnavailable } from '../rest/errors.ts';
import { HttpClient, type HttpHooks } from '../rest/http.ts';
import { httpSettingsFromEnv, type HttpSettings } from '../rest/settings.ts';
import { readRunState, writeRunState } from '../run-state.ts';
import { replaySpool } from './replay.ts';
import { SPOOL_ARTIFACTS_DIR, SPOOL_FILE, Spool } from './spool.ts';

export interface SyncOptions {
  env?: NodeJS.ProcessEnv;
  /** Replay to this server instead of the one each record names. */
  url?: string;
  settings?: Partial<HttpSettings>;
  hooks?: HttpHooks;
}

export interface SyncReport {
  /** Run directories holding a spool. */
  spools: string[];
  replayed: number;
  duplicatesSkipped: number;
  failed: { runDir: string; error: string }[];
  /** Spools whose parent run could not be created. */
  blocked: { runDir: string; parentRunId: string }[];
}

const SKIP_DIRS = new Set(['node_modules', '.git', SPOOL_ARTIFACTS_DIR, 'checkpoints', 'samples']);

async function findSpoolDirs(dir: string, out: string[] = []): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && e.name === SPOOL_FILE)) out.push(dir);
  for (const e of entries) {
    if (e.isDirectory() && !SKIP_DIRS.has(e.name)) await findSpoolDirs(path.join(dir, e.name), out);
  }
  return out;
}

export async function syncSpools(root: string, options: SyncOptions = {}): Promise<SyncReport> {
  const spoolDirs = (await findSpoolDirs(path.resolve(root))).sort();
  const http = new HttpClient({ ...httpSettingsFromEnv(options.env ?? process.env), ...options.settings }, options.hooks);
  const clients = new Map<string, MlflowClient>();
  const clientFor = (url: string): MlflowClient => {
    const target = options.url ?? url;
    let c = clients.get(target);
    if (!c) clients.set(target, (c = new MlflowClient(target, http)));
    return c;
  };
  const runIds = new Map<string, string>();
  const report: SyncReport = { spools: spoolDirs, replayed: 0, duplicatesSkipped: 0, failed: [], blocked: [] };
  try {
    let waiting = spoolDirs;
    let unreachable: string | undefined;
    for (;;) {
      const next: { runDir: string; parentRunId: string }[] = [];
      for (const runDir of waiting) {
        if (unreachable) {
          report.failed.push({ runDir, error: `not attempted: ${unreachable}` });
          continue;
        }
        try {
          const spool = await Spool.open(runDir);
          const result = await replaySpool(spool, { clientFor, runIds });
          report.replayed += result.replayed;
          report.duplicatesSkipped += result.duplicatesSkipped;
          if (result.blockedOn) next.push({ runDir, parentRunId: result.blockedOn });
          else await recordServerRunId(runDir, runIds);
        } catch (e) {
          report.failed.push({ runDir, error: (e as Error).message });
          // Every retry already ran its ~4 minutes: do not wait that long again for each other spool.
          if (isUnavailable(e)) unreachable = (e as Error).message;
        }
      }
      if (next.length === 0 || next.length === waiting.length || unreachable) {
        report.blocked = next;
        break;
      }
      waiting = next.map((n) => n.runDir);
    }
  } finally {
    await http.close();
  }
  return report;
}

/** Points tracking.json at the server's run id, so a resumed trial continues that run. */
async function recordServerRunId(runDir: string, runIds: Map<string, string>): Promise<void> {
  const state = await readRunState(runDir);
  const serverId = state && runIds.get(state.runId);
  if (!state || !serverId) return;
  await writeRunState(runDir, { backend: state.backend, location: state.location, experimentId: state.experimentId, runId: serverId });
}
