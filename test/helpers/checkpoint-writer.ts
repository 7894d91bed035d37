/** Child process for the kill test: saves ever larger checkpoints forever; payload bytes all equal step % 251. */
import { CheckpointDir } from '../../src/train/checkpoints.ts';

const [dir] = process.argv.slice(2);
const ckpt = new CheckpointDir(dir!, { keepLast: 2, configHash: 'abc123' });
process.stdout.write('saving\n');
for (let step = (ckpt.list().at(-1)?.step ?? 0) + 1; ; step++) {
  ckpt.save(step, new Uint8Array(8_000_000 + step * 1000).fill(step % 251), step % 3 === 0 ? 1 / step : undefined);
}
