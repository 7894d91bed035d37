import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from './helpers/backends.ts';
import { imageSize, probeVideo, writePng } from '../datasets/index.ts';
import { parseSpec } from '../src/spec/index.ts';
import { createModel, disposeModel, encodeCheckpoint, modelCheckpoint } from '../src/model/index.ts';
import { wrapCheckpoint } from '../src/train/index.ts';
import { createProgress, deblur } from '../src/runner/index.ts';
import { UsageError } from '../src/errors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

const SPEC = `
name: deblur
base:
  data: { source: synthetic, crop: 16 }
  model: { frames: 4, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], headChannels: 8, groups: 4 }
  diffusion: { timesteps: 50, prediction: x0 }
  sample: { sampler: ddim, steps: 2, eta: 0, seed: 0 }
  train: { steps: 1 }
  tracking: { uri: none }
`;

const W = 24;
const H = 20;

function frame(i: number) {
  return { width: W, height: H, data: new Uint8Array(W * H * 3).map((_, j) => (j * 5 + i * 31) % 256) };
}

function divd(args: string[], cwd: string) {
  return spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
}

const quiet = () => createProgress('test', { quiet: true });
const isUsage = (re: RegExp) => (e: Error) => e instanceof UsageError && re.test(e.message);

describe('divd deblur', () => {
  let tmp = '';
  let runDir = '';
  let framesDir = '';
  before(async () => {
    await useBackend('wasm');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-deblur-'));
    // A run directory as training leaves it: config, trial id, one checkpoint whose ema/ group is the model.
    const trial = parseSpec(SPEC, 'deblur.yaml').trials[0]!;
    runDir = path.join(tmp, 'runs', 'deblur', trial.id);
    fs.mkdirSync(path.join(runDir, 'checkpoints'), { recursive: true });
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify(trial.config));
    fs.writeFileSync(path.join(runDir, 'trial.json'), JSON.stringify({ id: trial.id, label: trial.label }));
    const model = createModel(trial.config.model, 7);
    const ema = new Map([...model.params.snapshot()].map(([n, t]) => [`ema/${n}`, t]));
    fs.writeFileSync(path.join(runDir, 'checkpoints', 'step-000000001.ckpt'), wrapCheckpoint(encodeCheckpoint(modelCheckpoint(model, 1, ema)), trial.id));
    // The same weights without EMA, as a bare model file.
    fs.writeFileSync(path.join(tmp, 'no-ema.safetensors'), encodeCheckpoint(modelCheckpoint(model, 1)));
    disposeModel(model);
    framesDir = path.join(tmp, 'clip');
    for (let i = 1; i <= 6; i++) await writePng(path.join(framesDir, `frame_${i}.png`), frame(i));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a frames folder becomes a folder of restored PNGs with the same names and size', async () => {
    const r = divd(['deblur', framesDir, '--checkpoint', runDir, '-o', 'restored', '--tile', '16', '--tile-overlap', '4', '--json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { frames: number; kind: string; sample: { tile: number } };
    assert.deepEqual([out.frames, out.kind, out.sample.tile], [6, 'frames', 16]);
    const names = fs.readdirSync(path.join(tmp, 'restored')).sort();
    assert.deepEqual(names, fs.readdirSync(framesDir).sort());
    for (const n of names) assert.deepEqual(await imageSize(path.join(tmp, 'restored', n)), { width: W, height: H });
    assert.ok(!fs.readdirSync(tmp).some((n) => n.includes('.partial-')), 'no temp folder left beside the output');
    const again = divd(['deblur', framesDir, '--checkpoint', runDir, '-o', 'restored'], tmp);
    assert.equal(again.status, 2, 'a non-empty -o is never replaced without --force');
    assert.match(again.stderr, /restored exists and is not empty; pass --force/);
  });

  it('a video becomes a video with the same frame count, size and rate, or a frames folder', { skip: hasFfmpeg ? false : 'ffmpeg is not installed' }, async () => {
    const mp4 = path.join(tmp, 'clip.mp4');
    const make = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-framerate', '12', '-i', path.join(framesDir, 'frame_%d.png'), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', mp4]);
    assert.equal(make.status, 0, String(make.stderr));
    const r = divd(['deblur', 'clip.mp4', '--checkpoint', path.join(runDir, 'checkpoints', 'step-000000001.ckpt'), '-o', 'out.mp4', '--steps', '1'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /6 frames \(24x20\).*out\.mp4 \(12 fps\)/);
    const count = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path.join(tmp, 'out.mp4')], { encoding: 'utf8' });
    assert.equal(count.stdout.trim(), '6');
    const info = await probeVideo(path.join(tmp, 'out.mp4'));
    assert.deepEqual([info.width, info.height, info.fps], [W, H, 12]);
    const frames = await deblur({ input: mp4, checkpoint: runDir, out: path.join(tmp, 'from-video'), sample: { steps: 1 }, progress: quiet() });
    assert.equal(frames.frames, 6);
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'from-video')).sort(), ['000000.png', '000001.png', '000002.png', '000003.png', '000004.png', '000005.png']);
  });

  it('refuses bad input with the path named: sizes, unreadable frames, no EMA, not a run dir, missing input', async () => {
    const run = (input: string, checkpoint = runDir) => deblur({ input, checkpoint, out: path.join(tmp, `o-${Math.random()}`), progress: quiet() });
    const mixed = path.join(tmp, 'mixed');
    for (let i = 1; i <= 3; i++) await writePng(path.join(mixed, `${i}.png`), frame(i));
    await writePng(path.join(mixed, '4.png'), { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) });
    await assert.rejects(run(mixed), isUsage(/mixed\/4\.png is 16x16, but .*1\.png is 24x20/));
    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(broken);
    fs.writeFileSync(path.join(broken, '1.png'), 'not a png');
    await assert.rejects(run(broken), isUsage(/broken\/1\.png/));
    await assert.rejects(run(path.join(tmp, 'nothing-here')), isUsage(/nothing-here does not exist/));
    fs.mkdirSync(path.join(runDir, 'bare'));
    fs.copyFileSync(path.join(tmp, 'no-ema.safetensors'), path.join(runDir, 'bare', 'model.safetensors'));
    // bare/ sits one level below the run directory, as checkpoints/ does, so the trial config is found.
    await assert.rejects(run(framesDir, path.join(runDir, 'bare', 'model.safetensors')), isUsage(/has no EMA weights/));
    await assert.rejects(run(framesDir, tmp), isUsage(/not a run directory/));
  });

  it('a video without ffmpeg says how to install it', async () => {
    fs.writeFileSync(path.join(tmp, 'fake.mp4'), 'x');
    const saved = { ...process.env };
    process.env.FFMPEG_PATH = path.join(tmp, 'no-ffmpeg');
    process.env.FFPROBE_PATH = path.join(tmp, 'no-ffprobe');
    try {
      await assert.rejects(deblur({ input: path.join(tmp, 'fake.mp4'), checkpoint: runDir, out: path.join(tmp, 'v'), progress: quiet() }), isUsage(/apt-get install -y ffmpeg/));
    } finally {
      process.env.FFMPEG_PATH = saved.FFMPEG_PATH ?? '';
      process.env.FFPROBE_PATH = saved.FFPROBE_PATH ?? '';
      if (saved.FFMPEG_PATH === undefined) delete process.env.FFMPEG_PATH;
      if (saved.FFPROBE_PATH === undefined) delete process.env.FFPROBE_PATH;
    }
  });
});
