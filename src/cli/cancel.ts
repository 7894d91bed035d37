/**
 * `divd cancel <spec>`: scancel the experiment's Slurm jobs that still hold a queued or running trial.
 * Cancelled trials keep their checkpoints; the next `divd run` resubmits them and they resume.
 */
import path from 'node:path';
import { querySlurm, scancel } from '../runner/index.ts';
import { loadSpec } from '../spec/index.ts';

export function cancelCommand(spec: string, flags: { runs: string; json?: boolean }): number {
  const plan = loadSpec(spec);
  const held = [...querySlurm(path.join(flags.runs, plan.name))].filter(([, s]) => s.inFlight);
  const jobIds = [...new Set(held.map(([, s]) => s.jobId))];
  scancel(jobIds);
  if (flags.json) process.stdout.write(`${JSON.stringify({ experiment: plan.name, jobIds, trials: held.map(([id, s]) => ({ id, task: s.name, state: s.state })) })}\n`);
  else if (jobIds.length === 0) process.stdout.write(`${plan.name}: no Slurm job of this experiment is queued or running\n`);
  else process.stdout.write(`${plan.name}: cancelled Slurm job(s) ${jobIds.join(', ')} (${held.length} trial(s) queued or running); \`divd run ${spec} --launcher slurm\` resubmits them\n`);
  return 0;
}
