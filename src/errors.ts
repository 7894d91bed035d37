/**
 * Errors every layer may throw. The CLI maps them to exit codes:
 * UsageError → 2 (bad input: flags, specs, paths), anything else → 1.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isUsageError(e: unknown): e is UsageError {
  return e instanceof UsageError;
}
