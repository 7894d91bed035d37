/**
 * JSON Schema of a trial config and of a spec file. The trial schema is typed as
 * `JSONSchemaType<TrialConfig>`, so the compiler rejects a schema that drifts from `types.ts`.
 * The spec schema is derived from it: `base` and variants take the trial schema with nothing
 * required (defaults fill the rest), and `sweep` gets one property per config path, so editors
 * complete `model.windows` and ajv checks every swept value against that path's own schema.
 */
import type { JSONSchemaType } from 'ajv';
import { SAMPLE_WINDOWS, TIMESTEP_SPACINGS } from '../diffusion/config.ts';
import { DEFAULTS } from './defaults.ts';
import {
  ATTENTIONS, DATA_SOURCES, FRAME_PADDINGS, GOPRO_VARIANTS, LPIPS_NETS, LR_SCHEDULES, METRICS, NOISE_SCHEDULES,
  PREDICTIONS, SAMPLERS, SSIM_VARIANTS, TRAIN_BACKENDS,
  type TrialConfig,
} from './types.ts';

/** A JSON Schema node as plain data (what the derived schemas and the path walker handle). */
export type SchemaNode = { [keyword: string]: unknown };

const int = (minimum: number, description: string) => ({ type: 'integer', minimum, description }) as const;
const num = (description: string, bounds: { minimum?: number; exclusiveMinimum?: number; maximum?: number; exclusiveMaximum?: number } = {}) =>
  ({ type: 'number', ...bounds, description }) as const;
const bool = (description: string) => ({ type: 'boolean', description }) as const;
const oneOf = <T extends string>(values: readonly T[], description: string) =>
  ({ type: 'string', enum: values, description }) as const;
const intList = (minimum: number, description: string) =>
  ({ type: 'array', items: { type: 'integer', minimum }, minItems: 1, description }) as const;

export const TRIAL_SCHEMA: JSONSchemaType<TrialConfig> = {
  type: 'object',
  additionalProperties: false,
  required: ['data', 'model', 'diffusion', 'sample', 'train', 'eval', 'tracking', 'report'],
  properties: {
    data: {
      type: 'object',
      description: 'Where frames come from and how training windows are cut.',
      additionalProperties: false,
      required: ['source', 'goproVariant', 'crop', 'padding', 'augment', 'splits', 'folders', 'synthetic'],
      properties: {
        source: oneOf(DATA_SOURCES, 'synthetic (generated, embedded default), gopro, dvd, or folders (<root>/<split>/<sequence>/{blur,sharp}/*.png)'),
        root: { type: 'string', nullable: true, minLength: 1, description: 'Dataset folder; required unless source is synthetic.' },
        goproVariant: oneOf(GOPRO_VARIANTS, 'GoPro blurred frames: blur (averaged gamma-encoded values) or blur_gamma (averaged in linear light).'),
        crop: int(8, 'Square training crop in pixels, the same for every frame of a window (paper: 144).'),
        padding: oneOf(FRAME_PADDINGS, 'How windows are completed at sequence borders.'),
        augment: bool('Random horizontal/vertical flips and temporal reversal of training windows.'),
        splits: {
          type: 'object',
          additionalProperties: false,
          required: ['train', 'test'],
          description: 'Split folder names under root (gopro, folders); DVD uses the fixed test list of the literature.',
          properties: {
            train: { type: 'string', minLength: 1, description: 'Training split folder.' },
            test: { type: 'string', minLength: 1, description: 'Test split folder.' },
          },
        },
        folders: {
          type: 'object',
          additionalProperties: false,
          required: ['blurDir', 'sharpDir'],
          description: 'Folders source: the names of the blurry and sharp frame folders inside each sequence.',
          properties: {
            blurDir: { type: 'string', minLength: 1, description: 'Blurry frames folder in each sequence (e.g. blur, input, blur_gamma).' },
            sharpDir: { type: 'string', minLength: 1, description: 'Sharp frames folder in each sequence (e.g. sharp, gt, target).' },
          },
        },
        synthetic: {
          type: 'object',
          additionalProperties: false,
          // `exposure` and `motion` came later: left out of `required` so the config.json of older run directories still
          // opens; readers take a missing one as its default ([1, 1], fully open; motion 1).
          required: ['trainSequences', 'testSequences', 'frames', 'height', 'width', 'seed'],
          description: 'Synthetic source: sharp sub-frames averaged into blur, deterministic per seed.',
          properties: {
            trainSequences: int(1, 'Sequences in the training split.'),
            testSequences: int(1, 'Sequences in the test split.'),
            frames: int(1, 'Frames per sequence.'),
            height: int(8, 'Frame height in pixels.'),
            width: int(8, 'Frame width in pixels.'),
            seed: int(0, 'Generator seed.'),
            exposure: {
              type: 'array',
              items: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
              minItems: 2,
              maxItems: 2,
              description:
                '[lo, hi]: the fraction of sub-frames each frame exposes, drawn per frame (a video of sharp and blurred frames); [1, 1] (default): fully open.',
            },
            motion: {
              type: 'number',
              exclusiveMinimum: 0,
              maximum: 20,
              description:
                'Speed multiplier of the camera and objects (1, default: under a pixel per sub-frame at 64 px); faster motion moves content further between frames.',
            },
          },
        },
      },
    },
    model: {
      type: 'object',
      description: 'The DIVD UNet: ResBlocks, WTSA windows per level, MRPE.',
      additionalProperties: false,
      required: ['frames', 'baseChannels', 'channelMults', 'resBlocks', 'windows', 'attention', 'headChannels', 'groups', 'dropout', 'mrpe'],
      properties: {
        frames: int(1, 'F: frames per window processed in parallel (paper: 4).'),
        baseChannels: int(1, 'Channels at the finest level (paper default: 64).'),
        channelMults: intList(1, 'Channel multiplier per UNet level, finest first (default [1,2,4,8]).'),
        resBlocks: int(1, 'ResBlocks per level.'),
        windows: intList(1, 'WTSA window size M per level, finest first; same length as channelMults; the middle block uses the last entry.'),
        attention: oneOf(ATTENTIONS, 'wtsa (across frames), spatial (per frame), or none.'),
        headChannels: int(1, 'Channels per attention head: heads = channels / headChannels.'),
        groups: int(1, 'GroupNorm groups (clamped to divide the channel count).'),
        dropout: num('Dropout in ResBlocks.', { minimum: 0, exclusiveMaximum: 1 }),
        mrpe: {
          type: 'object',
          additionalProperties: false,
          required: ['framePE', 'relBias'],
          description: 'Multi-frame relative positional encoding parts.',
          properties: {
            framePE: bool('Learnable frame positional encoding.'),
            relBias: bool('Relative position bias inside a window.'),
            locality: num(
              'Starting slope α of the relative bias: each entry starts at −α × its offset length in tokens, so attention starts local and widens as it learns (0, the default: Swin\'s random start; no effect with relBias off).',
              { minimum: 0 },
            ),
          },
        },
      },
    },
    diffusion: {
      type: 'object',
      description: 'The forward noising process.',
      additionalProperties: false,
      required: ['schedule', 'timesteps', 'betaStart', 'betaEnd', 'prediction', 'residual'],
      properties: {
        schedule: oneOf(NOISE_SCHEDULES, 'β schedule.'),
        timesteps: int(1, 'T, diffusion steps.'),
        betaStart: num('β_1 (linear schedule).', { exclusiveMinimum: 0, exclusiveMaximum: 1 }),
        betaEnd: num('β_T (linear schedule).', { exclusiveMinimum: 0, exclusiveMaximum: 1 }),
        prediction: oneOf(PREDICTIONS, 'What the network predicts: eps (noise), x0, or v.'),
        residual: bool('Diffuse sharp − blurry instead of the sharp frames (off in the paper; helps short CPU runs).'),
      },
    },
    sample: {
      type: 'object',
      description: 'Test-time sampling.',
      additionalProperties: false,
      // `window` and `spacing` came later: they are left out of `required` so the config.json of older run
      // directories (which restored in blocks, at leading levels) still opens; readers take a missing one as
      // that default.
      required: ['sampler', 'steps', 'eta', 'seed', 'tile', 'tileOverlap'],
      properties: {
        sampler: oneOf(SAMPLERS, 'ddpm (always diffusion.timesteps steps) or ddim.'),
        steps: int(1, 'DDIM steps (at most diffusion.timesteps).'),
        spacing: oneOf(
          TIMESTEP_SPACINGS,
          'DDIM levels: leading (DDIM\'s k*floor(T/n): 900..0 for 10 of 1000) or trailing (from T-1 down: 999..99; better for few steps, and the only one where a 1-step sample starts from noise).',
        ),
        eta: num('DDIM η: 0 deterministic, 1 DDPM-like.', { minimum: 0 }),
        seed: int(0, 'Sampling noise seed.'),
        tile: int(0, 'Tile size in pixels for frames too large to denoise whole (0: whole frames).'),
        tileOverlap: int(0, 'Overlap of neighbouring tiles in pixels, blended with linear ramps.'),
        window: oneOf(
          SAMPLE_WINDOWS,
          'Which frames a forward pass restores: blocks (the paper: every frame of non-overlapping F-frame windows) or centre (a window slid over every frame, keeping its output at position floor(F/2), borders padded by data.padding; F times the forward passes).',
        ),
      },
    },
    train: {
      type: 'object',
      description: 'Optimisation.',
      additionalProperties: false,
      required: ['steps', 'batch', 'accumulate', 'lr', 'betas', 'warmupSteps', 'schedule', 'gradClip', 'ema', 'checkpointEvery', 'keepLast', 'validateEvery', 'seed'],
      properties: {
        steps: int(1, 'Optimiser steps (paper: 1M).'),
        batch: int(1, 'Windows of F frames per micro-batch.'),
        accumulate: int(1, 'Micro-batches accumulated per optimiser step.'),
        lr: num('Adam learning rate after warm-up.', { exclusiveMinimum: 0 }),
        betas: {
          type: 'array',
          description: 'Adam (β1, β2).',
          items: [num('β1', { minimum: 0, exclusiveMaximum: 1 }), num('β2', { minimum: 0, exclusiveMaximum: 1 })],
          minItems: 2,
          maxItems: 2,
        },
        warmupSteps: int(0, 'Linear learning-rate warm-up steps.'),
        schedule: oneOf(LR_SCHEDULES, 'Learning rate after warm-up: constant or cosine decay to 0.'),
        gradClip: num('Global gradient-norm clip; 0 turns it off.', { minimum: 0 }),
        ema: num('EMA decay of the sampling weights; 0 turns it off.', { minimum: 0, exclusiveMaximum: 1 }),
        checkpointEvery: int(1, 'Checkpoint every N steps.'),
        keepLast: int(1, 'Checkpoints kept (plus the best).'),
        validateEvery: int(0, 'Validation loss every N steps; 0 turns it off.'),
        seed: int(0, 'Initialisation and data-order seed.'),
        backend: { type: 'string', enum: [...TRAIN_BACKENDS, null], nullable: true, description: 'TensorFlow.js backend; absent or null: --backend / DIVD_BACKEND / auto. Not part of the trial id.' },
        threads: { type: 'integer', minimum: 1, nullable: true, description: 'wasm threads; absent or null: one per core. Not part of the trial id.' },
      },
    },
    eval: {
      type: 'object',
      description: 'Metrics on the test split.',
      additionalProperties: false,
      // `contextProbe` came later: not required, so older config.json files still open (read as false).
      required: ['metrics', 'cropBorder', 'yChannel', 'ssim', 'lpips', 'kid', 'testLoss'],
      properties: {
        metrics: { type: 'array', items: oneOf(METRICS, 'A metric.'), uniqueItems: true, description: 'Metrics to compute.' },
        cropBorder: int(0, 'Pixels dropped at each border before PSNR/SSIM.'),
        yChannel: bool('PSNR/SSIM on the BT.601 Y channel instead of RGB.'),
        ssim: {
          type: 'object',
          additionalProperties: false,
          required: ['variant'],
          properties: { variant: oneOf(SSIM_VARIANTS, 'basicsr (11x11 Gaussian, the papers\' convention) or skimage-default (7x7 uniform).') },
        },
        lpips: {
          type: 'object',
          additionalProperties: false,
          required: ['net'],
          properties: { net: oneOf(LPIPS_NETS, 'LPIPS v0.1 backbone.') },
        },
        kid: {
          type: 'object',
          additionalProperties: false,
          required: ['subsets', 'subsetSize'],
          properties: {
            subsets: int(1, 'Random subsets averaged.'),
            subsetSize: int(2, 'Frames per subset (clamped to the smaller set).'),
          },
        },
        testLoss: bool('Also score the held-out diffusion loss on the test split at fixed noise levels (lower is better; comparable across variants of one diffusion setup).'),
        contextProbe: bool(
          'Also score the test loss with every frame alone (its window filled with copies of it) into probe-context.json, as `divd probe` does: how much the model uses the other frames. Needs testLoss; not part of the trial id (turning it on later does not re-run finished trials: divd probe fills them in).',
        ),
      },
    },
    tracking: {
      type: 'object',
      description: 'Where runs are recorded.',
      additionalProperties: false,
      required: ['uri', 'experiment'],
      properties: {
        uri: { type: 'string', minLength: 1, description: 'MLflow FileStore path (./mlruns), http(s) server URL, or none.' },
        experiment: { type: 'string', description: 'MLflow experiment name; empty: the spec name.' },
      },
    },
    report: {
      type: 'object',
      additionalProperties: false,
      required: ['enabled'],
      properties: { enabled: bool('Write reports/<experiment>/index.html after the sweep.') },
    },
  },
};

const clone = <T>(value: T): T => structuredClone(value);

/** Copies `schema` with `default` set on every property from `defaults` (editors show them). */
function withDefaults(schema: SchemaNode, defaults: unknown): SchemaNode {
  const out: SchemaNode = { ...schema };
  const props = schema.properties as Record<string, SchemaNode> | undefined;
  if (props && defaults && typeof defaults === 'object') {
    const d = defaults as Record<string, unknown>;
    out.properties = Object.fromEntries(
      Object.entries(props).map(([key, sub]) => [key, withDefaults(sub, d[key])]),
    );
  }
  if (defaults !== undefined && schema.type !== 'object') out.default = clone(defaults);
  return out;
}

/** Copies `schema` with no `required` anywhere: the shape of `base` and of variants. */
export function partial(schema: SchemaNode): SchemaNode {
  const out: SchemaNode = { ...schema };
  delete out.required;
  const props = schema.properties as Record<string, SchemaNode> | undefined;
  if (props) out.properties = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, partial(s)]));
  return out;
}

/** Every config path (`model`, `model.windows`, `model.mrpe.framePE`, …) with its schema, in schema order. */
export function configPaths(schema: SchemaNode = TRIAL_SCHEMA as unknown as SchemaNode, prefix = ''): Map<string, SchemaNode> {
  const paths = new Map<string, SchemaNode>();
  const props = schema.properties as Record<string, SchemaNode> | undefined;
  for (const [key, sub] of Object.entries(props ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    paths.set(path, sub);
    for (const [p, s] of configPaths(sub, path)) paths.set(p, s);
  }
  return paths;
}

/** Paths a sweep may vary: values, not whole sections (sections are what variants are for). */
export function sweepablePaths(): Map<string, SchemaNode> {
  return new Map([...configPaths()].filter(([, s]) => s.type !== 'object'));
}

export const SPEC_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

/** The schema of a spec file (what `experiments/schema.json` holds). */
export function specSchema(): SchemaNode {
  const trial = withDefaults(TRIAL_SCHEMA as unknown as SchemaNode, DEFAULTS);
  const base = partial(trial);
  const sweepable = sweepablePaths();
  const axis = (leaf: SchemaNode): SchemaNode => ({ type: 'array', minItems: 1, items: stripDocs(leaf) });
  const axes = Object.fromEntries([...sweepable].map(([p, s]) => [p, { ...axis(s), description: `Values of ${p} (one trial per value).` }]));
  const values = Object.fromEntries([...sweepable].map(([p, s]) => [p, stripDocs(s)]));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://github.com/divd/divd/experiments/schema.json',
    title: 'divd experiment spec',
    description: 'One study: a base trial config and a sweep over config paths. See src/spec/README.md.',
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: SPEC_NAME_PATTERN, description: 'Experiment name: runs/<name>/<trial id>/ and the MLflow experiment.' },
      description: { type: 'string', description: 'What the study shows (goes into the report).' },
      base: { ...base, description: 'The trial config shared by every trial; anything left out takes its default.' },
      sweep: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        description: 'Trials = product of the grid axes, zip groups, variants and seeds, minus exclude rules.',
        properties: {
          ...axes,
          zip: {
            type: 'array',
            minItems: 1,
            description: 'Groups of paths that vary together: lists of equal length, one axis per group.',
            items: { type: 'object', additionalProperties: false, minProperties: 2, properties: axes },
          },
          variants: {
            type: 'array',
            minItems: 1,
            description: 'Named partial configs, one axis (e.g. the MRPE ablation rows).',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'set'],
              properties: {
                name: { type: 'string', minLength: 1, description: 'Label of the variant.' },
                set: { ...stripDocs(base), description: 'Config values this variant sets over base.' },
              },
            },
          },
          seeds: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'integer', minimum: 0 }, description: 'train.seed values, one trial each.' },
          exclude: {
            type: 'array',
            minItems: 1,
            description: 'Rules removing trials: a trial is dropped when it matches every path (and variant) a rule names.',
            items: {
              type: 'object',
              additionalProperties: false,
              minProperties: 1,
              properties: { ...values, variant: { type: 'string', description: 'Variant name.' } },
            },
          },
        },
      },
    },
  };
}

/** Drops descriptions and defaults from a copy (nested uses of a schema would repeat them). */
function stripDocs(schema: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'description' || k === 'default') continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, SchemaNode>).map(([p, s]) => [p, stripDocs(s)]));
    } else if (k === 'items' && Array.isArray(v)) {
      out.items = (v as SchemaNode[]).map(stripDocs);
    } else if (k === 'items') {
      out.items = stripDocs(v as SchemaNode);
    } else out[k] = v;
  }
  return out;
}
