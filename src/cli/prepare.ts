/**
 * `divd prepare <spec>`: writes the run directories of a spec's trials without running anything, for
 * going stage by stage with `divd train|sample|eval --trial <dir>`. Thin: flags → `prepareTrials`, then the
 * run directories on stdout, one per line (so a shell loop can take them), and what happened on stderr.
 */
import { loadSpec, selectTrials } from '../spec/index.ts';
import { prepareTrials, type PreparedTrial } from '../runner/index.ts';

export interface PrepareFlags {
  runs: string;
  only?: string[];
  json?: boolean;
  quiet?: boolean;
}

function describe(t: PreparedTrial): string {
  const what = t.state === 'created' ? 'created ' : 'existing';
  const note = t.state === 'existing' ? `  (stage ${t.stage}; left untouched)` : '';
  return `  ${what} ${t.id}  ${t.label}${note}`;
}

export async function prepareCommand(spec: string, flags: PrepareFlags): Promise<number> {
  const plan = loadSpec(spec);
  const trials = flags.only?.length ? selectTrials(plan, flags.only) : plan.trials;
  const prepared = await prepareTrials(plan, trials, { runsDir: flags.runs });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ experiment: plan.name, trials: prepared })}\n`);
    return 0;
  }
  process.stdout.write(prepared.map((t) => `${t.runDir}\n`).join(''));
  if (!flags.quiet) {
    const created = prepared.filter((t) => t.state === 'created').length;
    const next = prepared.find((t) => t.stage === 'pending');
    process.stderr.write(
      `${plan.name}: ${created} run director${created === 1 ? 'y' : 'ies'} created, ${prepared.length - created} already there\n` +
        `${prepared.map(describe).join('\n')}\n` +
        (next ? `next: divd train --trial ${next.runDir}\n` : ''),
    );
  }
  return 0;
}
