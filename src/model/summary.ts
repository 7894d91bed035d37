/**
 * Layers, parameters and FLOPs of a model for a given input size, walked from the same layout the
 * forward pass uses. FLOPs count multiply-adds as 2, for convs, dense layers and the two attention
 * products (on padded windows); elementwise work (norms, activations, softmax) is ignored, as in
 * wasm-perf.md. A training step is counted as 3 × forward (forward, input grads, weight grads); a
 * sampling step is one forward.
 */
import type { ModelConfig, MrpeConfig } from './config.ts';
import type { Block } from './layout.ts';
import { IN_CHANNELS } from './layout.ts';
import { timeEmbeddingDim, type DivdModel } from './unet.ts';

export interface LayerSummary {
  name: string;
  kind: Exclude<Block['kind'], 'push'> | 'temb';
  /** Output [N, H, W, C] for the summarised input. */
  output: [number, number, number, number];
  params: number;
  flops: number;
  /** e.g. "window 4, 2 heads, 64 tokens". */
  detail: string;
}

export interface ModelSummary {
  config: ModelConfig;
  /** [S·F, H, W, 6]. */
  input: [number, number, number, number];
  parameters: number;
  layers: LayerSummary[];
  forwardFlops: number;
  trainStepFlops: number;
  samplingStepFlops: number;
}

export interface SummaryInput {
  height: number;
  width: number;
  /** Sequences S in the batch (each of F frames); default 1. */
  sequences?: number;
}

const conv = (n: number, h: number, w: number, k: number, cin: number, cout: number) => 2 * n * h * w * k * k * cin * cout;

export function summarizeModel(model: DivdModel, input: SummaryInput): ModelSummary {
  const c = model.config;
  const n = (input.sequences ?? 1) * c.frames;
  const size = (level: number): [number, number] => [input.height / 2 ** level, input.width / 2 ** level];
  const paramsUnder = (prefix: string) =>
    model.params
      .info()
      .filter((p) => p.name.startsWith(`${prefix}.`))
      .reduce((a, p) => a + p.size, 0);
  const e = timeEmbeddingDim(c);
  const layers: LayerSummary[] = [
    {
      name: 'temb',
      kind: 'temb',
      output: [n, 1, 1, e],
      params: paramsUnder('temb'),
      flops: 2 * n * (c.baseChannels * e + e * e),
      detail: `sinusoidal ${c.baseChannels} → MLP ${e}`,
    },
  ];
  for (const b of model.layout) {
    if (b.kind === 'push') continue;
    const [h, w] = size(b.level);
    const params = paramsUnder(b.name);
    switch (b.kind) {
      case 'convIn':
      case 'out':
        layers.push({ name: b.name, kind: b.kind, output: [n, h, w, b.cout], params, flops: conv(n, h, w, 3, b.cin, b.cout), detail: `conv3x3 ${b.cin}→${b.cout}` });
        break;
      case 'res': {
        const flops =
          conv(n, h, w, 3, b.cin, b.cout) + conv(n, h, w, 3, b.cout, b.cout) + (b.cin !== b.cout ? conv(n, h, w, 1, b.cin, b.cout) : 0) + 2 * n * e * b.cout;
        const detail = `${b.cin}→${b.cout}` + (b.concatSkip ? ` (incl. skip ${b.concatSkip})` : '');
        layers.push({ name: b.name, kind: 'res', output: [n, h, w, b.cout], params, flops, detail });
        break;
      }
      case 'attn': {
        const frames = c.attention === 'wtsa' ? c.frames : 1;
        const m = b.window;
        const nh = Math.ceil(h / m);
        const nw = Math.ceil(w / m);
        const tokens = frames * m * m;
        const windows = (n / frames) * nh * nw;
        const projections = 4 * 2 * windows * tokens * b.channels * b.channels;
        const products = 2 * 2 * windows * tokens * tokens * b.channels;
        const heads = Math.max(1, Math.floor(b.channels / c.headChannels));
        layers.push({
          name: b.name,
          kind: 'attn',
          output: [n, h, w, b.channels],
          params,
          flops: projections + products,
          detail: `${c.attention} M=${m}, ${tokens} tokens, ${heads} head(s)${nh * m !== h || nw * m !== w ? ', padded' : ''}`,
        });
        break;
      }
      case 'down': {
        const [h2, w2] = size(b.level + 1);
        layers.push({ name: b.name, kind: 'down', output: [n, h2, w2, b.channels], params, flops: conv(n, h2, w2, 3, b.channels, b.channels), detail: 'conv3x3 stride 2' });
        break;
      }
      case 'up': {
        const [h2, w2] = size(b.level - 1);
        layers.push({ name: b.name, kind: 'up', output: [n, h2, w2, b.channels], params, flops: conv(n, h2, w2, 3, b.channels, b.channels), detail: 'nearest 2x + conv3x3' });
        break;
      }
    }
  }
  const forwardFlops = layers.reduce((a, l) => a + l.flops, 0);
  return {
    config: c,
    input: [n, input.height, input.width, IN_CHANNELS],
    parameters: model.params.count(),
    layers,
    forwardFlops,
    trainStepFlops: 3 * forwardFlops,
    samplingStepFlops: forwardFlops,
  };
}

function human(x: number, unit: string): string {
  const steps: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [v, p] of steps) if (x >= v) return `${(x / v).toFixed(2)} ${p}${unit}`;
  return `${x} ${unit}`;
}

/** 'off', 'on', or 'on (locality α)' when the table starts local. */
function relativeBiasText(m: MrpeConfig): string {
  if (!m.relBias) return 'off';
  return m.locality > 0 ? `on (locality ${m.locality})` : 'on';
}

export function formatSummary(s: ModelSummary): string {
  const rows = s.layers.map((l) => [l.name, l.detail, `[${l.output.join(',')}]`, l.params.toLocaleString('en-US'), human(l.flops, 'FLOP')]);
  const header = ['layer', 'what', 'output', 'params', 'forward'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i >= 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  const c = s.config;
  return [
    `DIVD UNet: base ${c.baseChannels}, mults [${c.channelMults}], ${c.resBlocks} ResBlock(s)/level, attention ${c.attention}, windows [${c.windows}], ` +
      `frames ${c.frames}, frame PE ${c.mrpe.framePE ? 'on' : 'off'}, relative bias ${relativeBiasText(c.mrpe)}`,
    `input [${s.input.join(',')}] (noisy sharp + blurry frames)`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `parameters          ${s.parameters.toLocaleString('en-US')}`,
    `forward             ${human(s.forwardFlops, 'FLOP')}`,
    `training step (3x)  ${human(s.trainStepFlops, 'FLOP')}`,
    `sampling step       ${human(s.samplingStepFlops, 'FLOP')} (one model call; DDPM runs diffusion.timesteps of them, DDIM sample.steps)`,
  ].join('\n');
}
