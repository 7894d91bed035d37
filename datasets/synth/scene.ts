/**
 * One synthetic sequence: a textured world seen by a camera on a smooth random trajectory, with a few
 * objects moving on their own paths in front of it. `renderSubframe(scene, t)` is the 8-bit frame a
 * high-frame-rate camera would store at sub-frame t; output frames are made from runs of K of them.
 */
import type { SeededRandom } from '../random.ts';
import { randomFill, type Canvas } from './texture.ts';
import { extent, poseAt, randomTrajectory, type Trajectory } from './trajectory.ts';

export interface SceneOptions {
  width: number;
  height: number;
  /** Output frames in the sequence. */
  frames: number;
  /** Sub-frames averaged into one blurry frame (K). */
  subframes: number;
  /**
   * Fraction of the K sub-frames the shutter stays open for, drawn per output frame from [lo, hi]
   * (auto-exposure or a hand-held shutter: some frames of a video are sharp, their neighbours blurred).
   * Absent: always fully open, every frame averages all K sub-frames.
   */
  exposure?: [number, number];
  /**
   * Multiplies the speed of the camera and of every object (their paths, sizes and everything else drawn
   * stay the same). Absent: 1, under a pixel per sub-frame at 64 px. Faster motion moves content further
   * between frames, so a model must look further across frames to find it (what window sizes decide).
   */
  motion?: number;
}

interface MovingObject {
  /** Screen position at t = 0; the trajectory adds to it. */
  x0: number;
  y0: number;
  shape: 'disc' | 'box';
  halfW: number;
  halfH: number;
  fill: (x: number, y: number) => [number, number, number];
  path: Trajectory;
}

/** Everything about a sequence except its background pixels (which may come from a photograph). */
export interface ScenePlan extends SceneOptions {
  camera: Trajectory;
  objects: MovingObject[];
  /** Canvas size that contains every view of the camera path, and where the path's origin sits on it. */
  canvasWidth: number;
  canvasHeight: number;
  originX: number;
  originY: number;
  /** Sub-frames exposed in each output frame (1..K), when the exposure varies; absent: K for every frame. */
  exposures?: number[];
}

export interface Scene extends ScenePlan {
  background: Canvas;
}

/** Pixel scale relative to a 64-pixel frame: motion and texture sizes grow with the frame. */
export function sceneScale(width: number, height: number): number {
  return Math.max(0.5, Math.min(width, height) / 64);
}

export function planScene(rng: SeededRandom, opts: SceneOptions): ScenePlan {
  const { width, height, frames, subframes } = opts;
  const scale = sceneScale(width, height);
  const duration = frames * subframes;
  const motion = opts.motion ?? 1;
  // Hand-held camera: under a pixel of motion per sub-frame at 64 px (blur of roughly 1-10 px per frame).
  const camera = randomTrajectory(rng.fork('camera'), duration, subframes, {
    speed: rng.uniform(0.08, 0.6) * scale * motion,
    wander: 0.35,
    maxAngle: rng.uniform(0, 0.03),
  });
  const objects: MovingObject[] = [];
  const count = rng.int(1, 3);
  for (let o = 0; o < count; o++) {
    const orng = rng.fork(`object-${o}`);
    objects.push({
      x0: orng.uniform(0.15, 0.85) * width,
      y0: orng.uniform(0.15, 0.85) * height,
      shape: orng.pick(['disc', 'box'] as const),
      halfW: orng.uniform(0.06, 0.16) * Math.min(width, height),
      halfH: orng.uniform(0.06, 0.16) * Math.min(width, height),
      fill: randomFill(orng, scale),
      path: randomTrajectory(orng, duration, subframes, { speed: orng.uniform(0.1, 1.0) * scale * motion, wander: 0.5, maxAngle: 0.4 }),
    });
  }
  // A forked stream: drawing exposures leaves every other draw (and so the default data) unchanged.
  const erng = rng.fork('exposure');
  const exposures = opts.exposure
    ? Array.from({ length: frames }, () => Math.min(subframes, Math.max(1, Math.round(erng.uniform(opts.exposure![0], opts.exposure![1]) * subframes))))
    : undefined;
  const e = extent(camera, duration);
  // Room for the frame's corners to swing through the largest rotation, plus bilinear's one-pixel apron.
  const pad = Math.ceil((e.maxAngle * Math.hypot(width, height)) / 2) + 2;
  return {
    ...opts,
    camera,
    objects,
    canvasWidth: Math.ceil(width + (e.maxX - e.minX) + 2 * pad),
    canvasHeight: Math.ceil(height + (e.maxY - e.minY) + 2 * pad),
    originX: pad - e.minX,
    originY: pad - e.minY,
    ...(exposures ? { exposures } : {}),
  };
}

function clampByte(v: number): number {
  const r = Math.round(v * 255);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/** The 8-bit HWC RGB frame at sub-frame time t. */
export function renderSubframe(scene: Scene, t: number): Uint8Array {
  const { width, height, background: bg } = scene;
  const out = new Uint8Array(width * height * 3);
  const cam = poseAt(scene.camera, t);
  const cos = Math.cos(cam.angle);
  const sin = Math.sin(cam.angle);
  const cx = width / 2;
  const cy = height / 2;
  const shiftX = cx + cam.x + scene.originX;
  const shiftY = cy + cam.y + scene.originY;
  const bw = bg.width;
  const bd = bg.data;
  for (let y = 0; y < height; y++) {
    const dy = y + 0.5 - cy;
    for (let x = 0; x < width; x++) {
      const dx = x + 0.5 - cx;
      // Pixel centre rotated about the frame centre, then carried along the camera path; bilinear sample.
      const u = Math.min(Math.max(cos * dx - sin * dy + shiftX - 0.5, 0), bw - 1.001);
      const v = Math.min(Math.max(sin * dx + cos * dy + shiftY - 0.5, 0), bg.height - 1.001);
      const iu = Math.floor(u);
      const iv = Math.floor(v);
      const fu = u - iu;
      const fv = v - iv;
      const i00 = (iv * bw + iu) * 3;
      const i10 = i00 + 3;
      const i01 = i00 + bw * 3;
      const i11 = i01 + 3;
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        const top = bd[i00 + k]! * (1 - fu) + bd[i10 + k]! * fu;
        const bottom = bd[i01 + k]! * (1 - fu) + bd[i11 + k]! * fu;
        out[o + k] = clampByte(top * (1 - fv) + bottom * fv);
      }
    }
  }
  for (const obj of scene.objects) drawObject(out, width, height, obj, t);
  return out;
}

/** Folds a coordinate into [0, size] like a ball bouncing off the frame edges: continuous, stays in view. */
function bounce(v: number, size: number): number {
  const period = 2 * size;
  const m = ((v % period) + period) % period;
  return m <= size ? m : period - m;
}

function drawObject(out: Uint8Array, width: number, height: number, obj: MovingObject, t: number): void {
  const p = poseAt(obj.path, t);
  const ox = bounce(obj.x0 + p.x, width);
  const oy = bounce(obj.y0 + p.y, height);
  const cos = Math.cos(-p.angle);
  const sin = Math.sin(-p.angle);
  const r = Math.hypot(obj.halfW, obj.halfH);
  for (let y = Math.max(0, Math.floor(oy - r)); y < Math.min(height, Math.ceil(oy + r)); y++) {
    for (let x = Math.max(0, Math.floor(ox - r)); x < Math.min(width, Math.ceil(ox + r)); x++) {
      // Into the object's own frame, so its texture moves and turns with it.
      const dx = x + 0.5 - ox;
      const dy = y + 0.5 - oy;
      const qx = cos * dx - sin * dy;
      const qy = sin * dx + cos * dy;
      const inside =
        obj.shape === 'disc'
          ? (qx / obj.halfW) ** 2 + (qy / obj.halfH) ** 2 <= 1
          : Math.abs(qx) <= obj.halfW && Math.abs(qy) <= obj.halfH;
      if (!inside) continue;
      const c = obj.fill(qx + obj.halfW, qy + obj.halfH);
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) out[o + k] = clampByte(c[k]!);
    }
  }
}

/**
 * Sub-frame times of output frame j: with a fully open shutter the K consecutive sub-frames j·K … j·K+K-1;
 * with e exposed sub-frames, the e of them centred on the sharp one (so a frame of e = 1 is the sharp frame).
 */
export function subframeTimes(scene: Pick<ScenePlan, 'subframes' | 'exposures'>, frame: number): number[] {
  const exposed = scene.exposures?.[frame] ?? scene.subframes;
  const start = sharpSubframeTime(scene, frame) - Math.floor(exposed / 2);
  return Array.from({ length: exposed }, (_, i) => start + i);
}

/** The sharp ground truth of output frame j: its middle sub-frame (the later one of the two when K is even). */
export function sharpSubframeTime(scene: Pick<SceneOptions, 'subframes'>, frame: number): number {
  return frame * scene.subframes + Math.floor(scene.subframes / 2);
}
