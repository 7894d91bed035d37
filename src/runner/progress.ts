/**
 * Progress of long work on stderr: one rewritten line with rate and ETA on a terminal, plain lines
 * (at most one every few seconds) when stderr is a file or a pipe, nothing with `quiet`.
 */
export interface Progress {
  stage(name: string): void;
  update(done: number, total: number, detail?: string): void;
  note(message: string): void;
  done(): void;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

export function createProgress(label: string, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const out = opts.stream ?? process.stderr;
  const tty = Boolean(out.isTTY);
  let stageName = '';
  const created = Date.now();
  let firstDone: { at: number; done: number } | null = null;
  let lastPlain = 0;
  let open = false;
  const write = (s: string) => {
    if (!opts.quiet) out.write(s);
  };
  const endLine = () => {
    if (open) write('\n');
    open = false;
  };
  return {
    stage(name) {
      endLine();
      stageName = name;
      firstDone = null;
      write(`[${label}] ${name}\n`);
    },
    update(done, total, detail = '') {
      const now = Date.now();
      // The rate is measured from the first update of the stage, so start-up time does not skew the ETA.
      if (!firstDone) firstDone = { at: now, done };
      const rate = (done - firstDone.done) / Math.max(1e-3, (now - firstDone.at) / 1000);
      const eta = rate > 0 ? formatEta((total - done) / rate) : '?';
      const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
      const line = `[${label}] ${stageName} ${done}/${total} (${pct}%) ${detail} ETA ${eta}`;
      if (tty) {
        write(`\r${line.slice(0, (out.columns ?? 120) - 1).padEnd(Math.min(out.columns ?? 120, 120) - 1)}`);
        open = true;
      } else if (now - lastPlain > 5000 || done === total) {
        write(`${line}\n`);
        lastPlain = now;
      }
    },
    note(message) {
      endLine();
      write(`[${label}] ${message}\n`);
    },
    done() {
      endLine();
      write(`[${label}] done in ${formatEta((Date.now() - created) / 1000)}\n`);
    },
  };
}
