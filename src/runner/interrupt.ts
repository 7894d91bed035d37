/**
 * Stopping a running trial cleanly: the first SIGINT (Ctrl-C) or SIGTERM (what Slurm sends on preemption,
 * `scancel` and before a time limit; see the `--signal` line of the batch script) asks the running trial to
 * checkpoint and stop at the next step boundary, so the next `divd run` (or Slurm's requeue) resumes it
 * without losing steps. A second signal exits at once (130 for SIGINT, 143 for SIGTERM, as shells report).
 */
let requested = false;
let installed = false;

export function stopRequested(): boolean {
  return requested;
}

export function installInterruptHandler(onFirst: () => void = () => {}): void {
  if (installed) return;
  installed = true;
  const handler = (exitCode: number) => () => {
    if (requested) process.exit(exitCode);
    requested = true;
    onFirst();
  };
  process.on('SIGINT', handler(130));
  process.on('SIGTERM', handler(143));
}
