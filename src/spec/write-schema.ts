/**
 * Writes experiments/schema.json from the TypeScript definition (src/spec/schema.ts).
 * Run after changing a config field: `node --import tsx src/spec/write-schema.ts`.
 * test/spec-schema.test.ts fails while the committed file is out of date.
 */
import { writeFileAtomicSync } from '../atomic-write.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { specSchema } from './schema.ts';

export const SCHEMA_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../experiments/schema.json');

export const schemaText = (): string => `${JSON.stringify(specSchema(), null, 2)}\n`;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileAtomicSync(SCHEMA_FILE, schemaText());
  process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
}
