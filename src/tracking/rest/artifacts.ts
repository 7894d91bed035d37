/**
 * Where an artifact goes, from the run's artifact_uri (mlflow.md §8). `mlflow-artifacts:` URIs go
 * through the tracking server's proxy; http(s) URIs are PUT to directly; file: URIs are written locally;
 * cloud schemes (s3:, gs:, ...) mean the server is not proxying, which divd does not support.
 */
import { UsageError } from '../../errors.ts';

export type ArtifactTarget = { kind: 'http'; url: string } | { kind: 'local'; path: string };

const PROXY_PATH = '/api/2.0/mlflow-artifacts/artifacts';

/** Percent-encodes each segment; rejects what the proxy's validate_path_is_safe rejects. */
export function encodeArtifactPath(relPath: string): string {
  const parts = relPath.split('/').filter((p) => p !== '');
  if (relPath.startsWith('/') || relPath.includes('\\') || relPath.includes('#') || parts.includes('..')) {
    throw new UsageError(`artifact path ${JSON.stringify(relPath)} must be relative, without '..', '#' or '\\'`);
  }
  return parts.map(encodeURIComponent).join('/');
}

export function resolveArtifactTarget(trackingUrl: string, artifactUri: string, relPath: string): ArtifactTarget {
  const rel = encodeArtifactPath(relPath);
  const join = (base: string): string => `${base.replace(/\/+$/, '')}/${rel}`;
  if (artifactUri.startsWith('mlflow-artifacts:')) {
    const rest = artifactUri.slice('mlflow-artifacts:'.length);
    const tracking = new URL(trackingUrl);
    // mlflow-artifacts://host:port/path names its own host; mlflow-artifacts:/path uses the tracking server's.
    const withHost = /^\/\/([^/]+)(\/.*)?$/.exec(rest);
    const origin = withHost ? `${tracking.protocol}//${withHost[1]}` : `${tracking.origin}${tracking.pathname.replace(/\/+$/, '')}`;
    const uriPath = (withHost ? withHost[2] ?? '' : rest).replace(/^\/+/, '');
    return { kind: 'http', url: join(`${origin}${PROXY_PATH}/${uriPath}`) };
  }
  if (/^https?:\/\//i.test(artifactUri)) return { kind: 'http', url: join(artifactUri) };
  if (artifactUri.startsWith('file:') || artifactUri.startsWith('/')) {
    const base = artifactUri.startsWith('file:') ? decodeURIComponent(new URL(artifactUri).pathname) : artifactUri;
    return { kind: 'local', path: `${base.replace(/\/+$/, '')}/${relPath.split('/').filter(Boolean).join('/')}` };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(artifactUri)?.[1] ?? artifactUri;
  throw new UsageError(
    `the run's artifact_uri ${JSON.stringify(artifactUri)} uses '${scheme}:', which divd cannot write to; ` +
      'start the MLflow server with --serve-artifacts (the default since 2.0) so artifacts go through its proxy',
  );
}
