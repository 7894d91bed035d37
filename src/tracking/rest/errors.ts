/** Failures of the MLflow REST client, split by what the caller can do about them. */

/** The server answered with a non-retryable error (400, 401, 404, ...): retrying will not help. */
export class MlflowApiError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    /** MLflow's `error_code` (e.g. RESOURCE_ALREADY_EXISTS), or undefined when the body was not MLflow JSON. */
    readonly errorCode: string | undefined,
    readonly serverMessage: string,
  ) {
    super(`MLflow ${method} ${url} failed: HTTP ${status}${errorCode ? ` ${errorCode}` : ''}: ${serverMessage}${hint(status)}`);
    this.name = 'MlflowApiError';
  }
}

function hint(status: number): string {
  if (status === 401) return ' (set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN)';
  if (status === 403) return ' (the credentials lack permission, or the server rejects this Host: see its --allowed-hosts)';
  return '';
}

/**
 * The server could not be reached, or kept answering 408/429/5xx, through every retry. Records that
 * fail this way are spooled, never dropped.
 */
export class MlflowUnavailableError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly attempts: number,
    readonly lastFailure: string,
  ) {
    super(`MLflow ${method} ${url} failed after ${attempts} attempt(s): ${lastFailure}`);
    this.name = 'MlflowUnavailableError';
  }
}

export const isUnavailable = (e: unknown): e is MlflowUnavailableError => e instanceof MlflowUnavailableError;
