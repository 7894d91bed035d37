/**
 * Ctrl-C during `divd run`/`divd trial`: the first SIGINT asks the running trial to checkpoint and stop at the
 * next step boundary (the next `divd run` resumes it); a second one exits at once.
 */
let requested = false;
let installed = false;

export function stopRequested(): boolean {
  return requested;
}

export function installInterruptHandler(onFirst: () => void = () => {}): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', () => {
    if (requested) process.exit(130);
    requested = true;
    onFirst();
  });
}
