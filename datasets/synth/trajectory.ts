/**
 * Smooth random motion: a random walk on velocity sampled at knots, positions integrated at the knots and
 * interpolated with a Catmull-Rom spline, so the path (and hence the blur) changes smoothly from sub-frame
 * to sub-frame and consecutive output frames continue one trajectory.
 */
import type { SeededRandom } from '../random.ts';

export interface Pose {
  x: number;
  y: number;
  angle: number; // radians
}

export interface Trajectory {
  /** Knot poses, `knotSpacing` sub-frames apart; evaluated at any time t in sub-frames. */
  knots: Pose[];
  knotSpacing: number;
}

export interface MotionStyle {
  /** Mean speed in pixels per sub-frame. */
  speed: number;
  /** 0 = straight line, 1 = a new random direction at every knot. */
  wander: number;
  /** Largest rotation (radians) reached by the walk, kept small like hand-held shake. */
  maxAngle: number;
}

export function randomTrajectory(rng: SeededRandom, durationSubframes: number, knotSpacing: number, style: MotionStyle): Trajectory {
  const count = Math.ceil(durationSubframes / knotSpacing) + 3; // one knot of slack at each end for the spline
  const heading0 = rng.uniform(0, 2 * Math.PI);
  let vx = Math.cos(heading0) * style.speed;
  let vy = Math.sin(heading0) * style.speed;
  let omega = rng.normal() * style.maxAngle * 0.1;
  let pose: Pose = { x: 0, y: 0, angle: 0 };
  const knots: Pose[] = [pose];
  for (let k = 1; k < count; k++) {
    // Velocity random walk, renormalised to a speed that itself wanders around the mean.
    vx = (1 - style.wander) * vx + style.wander * rng.normal() * style.speed;
    vy = (1 - style.wander) * vy + style.wander * rng.normal() * style.speed;
    const mag = Math.hypot(vx, vy) || 1;
    const speed = style.speed * rng.uniform(0.6, 1.4);
    vx = (vx / mag) * speed;
    vy = (vy / mag) * speed;
    omega = 0.7 * omega + rng.normal() * style.maxAngle * 0.05;
    const angle = Math.max(-style.maxAngle, Math.min(style.maxAngle, pose.angle + omega * knotSpacing * 0.1));
    pose = { x: pose.x + vx * knotSpacing, y: pose.y + vy * knotSpacing, angle };
    knots.push(pose);
  }
  return { knots, knotSpacing };
}

function catmullRom(p0: number, p1: number, p2: number, p3: number, s: number): number {
  const s2 = s * s;
  const s3 = s2 * s;
  return 0.5 * (2 * p1 + (-p0 + p2) * s + (2 * p0 - 5 * p1 + 4 * p2 - p3) * s2 + (-p0 + 3 * p1 - 3 * p2 + p3) * s3);
}

/** Pose at time t (sub-frames from the start); the spline passes through knot i at t = (i - 1) * spacing. */
export function poseAt(traj: Trajectory, t: number): Pose {
  const u = t / traj.knotSpacing + 1;
  const i = Math.min(Math.max(Math.floor(u), 1), traj.knots.length - 3);
  const s = u - i;
  const [a, b, c, d] = [traj.knots[i - 1]!, traj.knots[i]!, traj.knots[i + 1]!, traj.knots[i + 2]!];
  return {
    x: catmullRom(a.x, b.x, c.x, d.x, s),
    y: catmullRom(a.y, b.y, c.y, d.y, s),
    angle: catmullRom(a.angle, b.angle, c.angle, d.angle, s),
  };
}

/** Bounding box of the path over [0, duration], sampled at every sub-frame. */
export function extent(traj: Trajectory, duration: number): { minX: number; maxX: number; minY: number; maxY: number; maxAngle: number } {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  let maxAngle = 0;
  for (let t = 0; t <= duration; t++) {
    const p = poseAt(traj, t);
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y);
    maxY = Math.max(maxY, p.y);
    maxAngle = Math.max(maxAngle, Math.abs(p.angle));
  }
  return { minX, maxX, minY, maxY, maxAngle };
}
