/**
 * A trial config as MLflow params: nested objects become dotted keys (`model.mrpe.relBias`), arrays
 * and other leaves their JSON text (`model.windows` → `[4,3,2,1]`), so every swept value is a column.
 */
import type { ParamValue } from './types.ts';

export function flattenParams(config: unknown, prefix = ''): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  const visit = (value: unknown, key: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0 && key) out[key] = '{}';
      for (const [k, v] of entries) visit(v, key ? `${key}.${k}` : k);
    } else if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out[key] = value;
    } else if (value !== undefined) {
      out[key] = JSON.stringify(value);
    }
  };
  visit(config, prefix);
  return out;
}
