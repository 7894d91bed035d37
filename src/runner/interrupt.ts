/**
 * Stopping a running trial cleanly: the first SIGINT (Ctrl-C) or SIGTERM (what Slurm sends on preemption,
 * `scancel` and before a time limit; see the `--signal` line of the batch script) asks the running trial to
 * checkpoint and stop at the next step boundary, so the next `divd run` (or Slurm's requeue) resumes it
 * without losing steps. A second signal exits at once (130 for SIGINT, 143 for SIGTERM, as shells report).
 *
 * A `divd run --jobs N` parent forwards the signals it gets to its `divd trial` processes (launchers/local.ts),
 * so `kill <pid of divd run>` stops a sweep as Ctrl-C does. On a terminal, Ctrl-C reaches the children
 * directly too, and the forwarded copy follows within milliseconds: a repeat within DUPLICATE_MS of the first
 * signal is that same request, not a second Ctrl-C.
 */
let requested = false;
let installed = false;
let firstAt = 0;

/** A signal this soon after the first is the same request delivered twice (terminal + forwarded). */
export const DUPLICATE_MS = 250;

export function stopRequested(): boolean {
  return requested;
}

export function installInterruptHandler(onFirst: () => void = () => {}): void {
  if (installed) return;
  installed = true;
  const handler = (exitCode: number) => () => {
    if (requested) {
      if (Date.now() - firstAt < DUPLICATE_MS) return;
      process.exit(exitCode);
    }
    requested = true;
    firstAt = Date.now();
    onFirst();
  };
  process.on('SIGINT', handler(130));
  process.on('SIGTERM', handler(143));
}
