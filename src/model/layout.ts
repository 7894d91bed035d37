/**
 * The UNet as a flat list of blocks (DDPM's layout), computed from the config alone. The parameter
 * builder, the forward pass, the parameter listing and the FLOP count all walk this one list, so
 * they cannot disagree about the architecture.
 *
 *   in: conv3x3 6→base                                                    push skip
 *   level i (finest first), width base·mult[i]: resBlocks × (ResBlock [+ attention M_i]) push skip each
 *                                              then (not last level) conv3x3 stride 2  push skip
 *   middle: ResBlock, attention (M = last entry), ResBlock
 *   level i (coarsest first): resBlocks+1 × (pop skip, concat, ResBlock [+ attention M_i])
 *                             then (not level 0) nearest 2x + conv3x3
 *   out: GroupNorm, SiLU, conv3x3 → 3 (zero init)
 */
import type { ModelConfig } from './config.ts';

export type Block =
  | { kind: 'convIn'; name: string; level: number; cin: number; cout: number }
  | { kind: 'res'; name: string; level: number; cin: number; cout: number; concatSkip: number }
  | { kind: 'attn'; name: string; level: number; channels: number; window: number }
  | { kind: 'down'; name: string; level: number; channels: number }
  | { kind: 'up'; name: string; level: number; channels: number }
  | { kind: 'push'; level: number; channels: number }
  | { kind: 'out'; name: string; level: number; cin: number; cout: number };

/** Input channels per image: the noisy sharp frame and its blurry frame. */
export const IN_CHANNELS = 6;
export const OUT_CHANNELS = 3;

export function unetLayout(c: ModelConfig): Block[] {
  const blocks: Block[] = [];
  const levels = c.channelMults.length;
  const attend = c.attention !== 'none';
  const skips: number[] = [];
  let ch = c.baseChannels;
  blocks.push({ kind: 'convIn', name: 'in', level: 0, cin: IN_CHANNELS, cout: ch });
  const push = (level: number) => {
    blocks.push({ kind: 'push', level, channels: ch });
    skips.push(ch);
  };
  push(0);
  for (let i = 0; i < levels; i++) {
    const width = c.baseChannels * c.channelMults[i]!;
    for (let r = 0; r < c.resBlocks; r++) {
      blocks.push({ kind: 'res', name: `down.${i}.res.${r}`, level: i, cin: ch, cout: width, concatSkip: 0 });
      ch = width;
      if (attend) blocks.push({ kind: 'attn', name: `down.${i}.attn.${r}`, level: i, channels: ch, window: c.windows[i]! });
      push(i);
    }
    if (i < levels - 1) {
      blocks.push({ kind: 'down', name: `down.${i}.downsample`, level: i, channels: ch });
      push(i + 1);
    }
  }
  const last = levels - 1;
  blocks.push({ kind: 'res', name: 'mid.res.0', level: last, cin: ch, cout: ch, concatSkip: 0 });
  if (attend) blocks.push({ kind: 'attn', name: 'mid.attn', level: last, channels: ch, window: c.windows[last]! });
  blocks.push({ kind: 'res', name: 'mid.res.1', level: last, cin: ch, cout: ch, concatSkip: 0 });
  for (let i = last; i >= 0; i--) {
    const width = c.baseChannels * c.channelMults[i]!;
    for (let r = 0; r <= c.resBlocks; r++) {
      const skip = skips.pop()!;
      blocks.push({ kind: 'res', name: `up.${i}.res.${r}`, level: i, cin: ch + skip, cout: width, concatSkip: skip });
      ch = width;
      if (attend) blocks.push({ kind: 'attn', name: `up.${i}.attn.${r}`, level: i, channels: ch, window: c.windows[i]! });
    }
    if (i > 0) blocks.push({ kind: 'up', name: `up.${i}.upsample`, level: i, channels: ch });
  }
  blocks.push({ kind: 'out', name: 'out', level: 0, cin: ch, cout: OUT_CHANNELS });
  return blocks;
}
