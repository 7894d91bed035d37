import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { aggregateFrames, buildMetricsReport, metricsJson, sequenceOf, writeMetricsJson } from '../metrics/index.ts';
import type { FrameScores } from '../metrics/index.ts';
import { UsageError } from '../src/errors.ts';

/** The documented metrics.json shape, as far as these tests read it. */
interface MetricsJsonShape {
  metrics: Record<string, number | string | { mean: number; std: number }>;
  meanOfSequenceMeans: Record<string, number | string>;
  sequences: Record<string, Record<string, number | string>>;
  sequenceFrameCounts: Record<string, number>;
  frames: Record<string, number | string>[];
  count: number;
  unavailable: Record<string, string>;
  notes: string[];
}

// Two sequences of unequal length, so the mean over frames and the mean of sequence means differ.
const frames: FrameScores[] = [
  { path: 'seqA/000001.png', scores: { psnr: 30, ssim: 0.9 } },
  { path: 'seqA/000002.png', scores: { psnr: 32, ssim: 0.8 } },
  { path: 'seqA/000003.png', scores: { psnr: 34, ssim: 0.7 } },
  { path: 'seqB/000001.png', scores: { psnr: 20, ssim: 0.5 } },
];

describe('aggregation: frames -> sequences -> dataset', () => {
  it('dataset mean is over all frames; sequence means and their mean are reported separately', () => {
    const agg = aggregateFrames(frames);
    assert.equal(agg.count, 4);
    assert.deepEqual(agg.metricNames, ['psnr', 'ssim']);
    assert.equal(agg.frameMean.psnr, (30 + 32 + 34 + 20) / 4);
    assert.ok(Math.abs(agg.frameMean.ssim! - 2.9 / 4) < 1e-15);
    assert.deepEqual(Object.keys(agg.sequences), ['seqA', 'seqB']);
    assert.equal(agg.sequences.seqA!.count, 3);
    assert.equal(agg.sequences.seqA!.mean.psnr, 32);
    assert.equal(agg.sequences.seqB!.mean.psnr, 20);
    assert.equal(agg.meanOfSequenceMeans.psnr, 26);
    assert.notEqual(agg.meanOfSequenceMeans.psnr, agg.frameMean.psnr);
    assert.deepEqual(agg.notes, []);
  });

  it('sequence names come from the directory part of the relative path', () => {
    assert.equal(sequenceOf('GOPR0384_11_00/000001.png'), 'GOPR0384_11_00');
    assert.equal(sequenceOf('test/seq 1/f.png'), 'test/seq 1');
    assert.equal(sequenceOf('frame.png'), '.');
  });

  it('an identical frame (PSNR +Infinity) makes the mean +Infinity and says so; JSON carries "Infinity"', () => {
    const withInf = [...frames, { path: 'seqB/000002.png', scores: { psnr: Infinity, ssim: 1 } }];
    const report = buildMetricsReport(withInf, { fid: 12.5, kid: { mean: 0.01, std: 0.002 } }, { lpips: 'weights missing: run `divd weights fetch`' });
    assert.equal(report.metrics.psnr, Infinity);
    assert.equal(report.sequences.seqA!.mean.psnr, 32, 'other sequences are unaffected');
    assert.equal(report.notes.length, 1);
    assert.match(report.notes[0]!, /^psnr: 1 of 5 frames scored an infinite value .* so the mean over frames is Infinity$/);
    const json = JSON.parse(JSON.stringify(metricsJson(report))) as MetricsJsonShape;
    assert.equal(json.metrics.psnr, 'Infinity');
    assert.equal(json.metrics.fid, 12.5);
    assert.deepEqual(json.metrics.kid, { mean: 0.01, std: 0.002 });
    assert.deepEqual(json.sequences.seqB, { psnr: 'Infinity', ssim: 0.75 });
    assert.deepEqual(json.sequenceFrameCounts, { seqA: 3, seqB: 2 });
    assert.deepEqual(json.frames[4], { path: 'seqB/000002.png', psnr: 'Infinity', ssim: 1 });
    assert.equal(json.count, 5);
    assert.deepEqual(json.unavailable, { lpips: 'weights missing: run `divd weights fetch`' });
  });

  it('inconsistent, duplicate, NaN or missing frames are refused naming the frame', () => {
    assert.throws(() => aggregateFrames([]), (e: unknown) => e instanceof UsageError && /no frames to aggregate/.test(e.message));
    assert.throws(
      () => aggregateFrames([frames[0]!, { path: 'seqA/x.png', scores: { psnr: 1 } }]),
      /frame seqA\/x\.png has metrics \[psnr\], expected \[psnr,ssim\]/,
    );
    assert.throws(() => aggregateFrames([frames[0]!, frames[0]!]), /frame seqA\/000001\.png is listed twice/);
    assert.throws(() => aggregateFrames([{ path: 'a/b.png', scores: { psnr: NaN } }]), /psnr of frame a\/b\.png is NaN/);
  });

  it('metrics.json is written atomically and reads back in the documented shape', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-metrics-'));
    try {
      const file = path.join(dir, 'run', 'metrics.json');
      writeMetricsJson(file, buildMetricsReport(frames));
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['metrics.json'], 'no temp file left behind');
      const back = JSON.parse(fs.readFileSync(file, 'utf8')) as MetricsJsonShape;
      assert.deepEqual(Object.keys(back), ['metrics', 'meanOfSequenceMeans', 'sequences', 'sequenceFrameCounts', 'frames', 'count', 'unavailable', 'notes']);
      assert.equal(back.metrics.psnr, 29);
      assert.equal(back.meanOfSequenceMeans.psnr, 26);
      assert.deepEqual(back.frames[0], { path: 'seqA/000001.png', psnr: 30, ssim: 0.9 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
