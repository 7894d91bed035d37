/**
 * The paired-row sweep of the tridiagonal reduction (symmetric-eigen.ts, `tridiagonalize`) as a generated
 * f64x2 SIMD function: for rows i, i+1 (i = k1+1, k1+3, ...) of the trailing lower triangle it applies
 * step k's rank-2 update B -= v q' + q v' and accumulates step k+1's product pNext = B w with w = vNext,
 * exactly as the JS loop does (same expressions per element; only the order of the two dot-product lanes
 * differs). The column range [k1+1, i) always has even length (i - k1 is odd), so it splits into pairs
 * with no remainder.
 *
 * sweepPairs(a, ld, k1, n, v, q, w, pNext, vk1, qk1, from) -> first row not processed; rows from `from`
 * (k1 + 1 for the whole sweep; any row with from − k1 odd for a share of it) while i + 1 < n; a, v, q, w,
 * pNext are byte addresses (row 0 / index 0), ld the row stride in bytes. A share of rows [s, n) adds its
 * contributions to pNext[k1+1 .. n), so two threads sweeping [k1+1, s) and [s, n) need two pNext vectors,
 * summed afterwards (full-rank-product.ts).
 */
import { Code } from '../../src/wasm/encoder.ts';
import type { ValType, WasmFunction } from '../../src/wasm/encoder.ts';

export function sweepPairsFunction(): WasmFunction {
  const [a, ld, k1, n, v, q, w, pn, vk1, qk1, from] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  let next = 11;
  const take = (): number => next++;
  const [i, r0, r1, j, jEnd, ei] = [take(), take(), take(), take(), take(), take()];
  const [v0, q0, w0, v1, q1, w1, s0, s1, x10, d] = Array.from({ length: 10 }, take);
  const [acc0, acc1, V0, Q0, W0, V1, Q1, W1, x0, x1, vj, qj, wj] = Array.from({ length: 13 }, take);
  const locals: ValType[] = [...Array<ValType>(6).fill('i32'), ...Array<ValType>(10).fill('f64'), ...Array<ValType>(13).fill('v128')];
  const code = new Code();
  /** Pushes the address of element `idx` (a local holding an index) of the vector at byte address `vec`. */
  const at = (vec: number, idx: number): Code => code.get(vec).get(idx).i32Const(8).i32Mul().i32Add();

  code.get(from).set(i);
  code.block().loop();
  // while (i + 1 < n)
  code.get(i).i32Const(1).i32Add().get(n).i32LtS().i32Eqz().brIf(1);
  code.get(a).get(i).get(ld).i32Mul().i32Add().set(r0);
  code.get(r0).get(ld).i32Add().set(r1);
  at(v, i).f64Load().set(v0);
  at(q, i).f64Load().set(q0);
  at(w, i).f64Load().set(w0);
  at(v, i).f64Load(8).set(v1);
  at(q, i).f64Load(8).set(q1);
  at(w, i).f64Load(8).set(w1);
  // Column k1: a[r][k1] -= v_r qk1 + q_r vk1.
  for (const [row, vr, qr] of [[r0, v0, q0], [r1, v1, q1]] as const) {
    code.get(row).get(k1).i32Const(8).i32Mul().i32Add().set(ei);
    code.get(ei).get(ei).f64Load().get(vr).get(qk1).f64Mul().get(qr).get(vk1).f64Mul().f64Add().f64Sub().f64Store();
  }
  for (const [vec, local] of [[v0, V0], [q0, Q0], [w0, W0], [v1, V1], [q1, Q1], [w1, W1]] as const) code.get(vec).f64x2Splat().set(local);
  code.f64Const(0).f64x2Splat().tee(acc0).set(acc1);
  // j over [k1+1, i) in bytes, two at a time.
  code.get(k1).i32Const(1).i32Add().i32Const(8).i32Mul().set(j);
  code.get(i).i32Const(8).i32Mul().set(jEnd);
  code.block().loop();
  code.get(j).get(jEnd).i32LtS().i32Eqz().brIf(1);
  code.get(v).get(j).i32Add().v128Load().set(vj);
  code.get(q).get(j).i32Add().v128Load().set(qj);
  code.get(w).get(j).i32Add().v128Load().set(wj);
  for (const [row, vr, qr, x] of [[r0, V0, Q0, x0], [r1, V1, Q1, x1]] as const) {
    // x = a[row][j] - v_r q_j - q_r v_j, stored back
    code.get(row).get(j).i32Add().set(ei);
    code.get(ei).v128Load().get(vr).get(qj).f64x2Mul().f64x2Sub().get(qr).get(vj).f64x2Mul().f64x2Sub().set(x);
    code.get(ei).get(x).v128Store();
  }
  code.get(acc0).get(x0).get(wj).f64x2Mul().f64x2Add().set(acc0);
  code.get(acc1).get(x1).get(wj).f64x2Mul().f64x2Add().set(acc1);
  // pNext[j] += x0 w0 + x1 w1
  code.get(pn).get(j).i32Add().set(ei);
  code.get(ei).get(ei).v128Load().get(x0).get(W0).f64x2Mul().get(x1).get(W1).f64x2Mul().f64x2Add().f64x2Add().v128Store();
  code.get(j).i32Const(16).i32Add().set(j);
  code.br(0).end().end();
  code.get(acc0).f64x2ExtractLane(0).get(acc0).f64x2ExtractLane(1).f64Add().set(s0);
  code.get(acc1).f64x2ExtractLane(0).get(acc1).f64x2ExtractLane(1).f64Add().set(s1);
  // Element (i+1, i): x10 = a[r1][i] - v1 q0 - q1 v0; acc1 += x10 w0.
  code.get(r1).get(i).i32Const(8).i32Mul().i32Add().set(ei);
  code.get(ei).f64Load().get(v1).get(q0).f64Mul().f64Sub().get(q1).get(v0).f64Mul().f64Sub().set(x10);
  code.get(ei).get(x10).f64Store();
  code.get(s1).get(x10).get(w0).f64Mul().f64Add().set(s1);
  // Diagonal (i, i): d0 = a - 2 v0 q0; pNext[i] += acc0 + d0 w0 + x10 w1.
  code.get(r0).get(i).i32Const(8).i32Mul().i32Add().set(ei);
  code.get(ei).f64Load().f64Const(2).get(v0).f64Mul().get(q0).f64Mul().f64Sub().set(d);
  code.get(ei).get(d).f64Store();
  at(pn, i).set(ei);
  code.get(ei).get(ei).f64Load().get(s0).get(d).get(w0).f64Mul().f64Add().get(x10).get(w1).f64Mul().f64Add().f64Add().f64Store();
  // Diagonal (i+1, i+1): d1 = a - 2 v1 q1; pNext[i+1] += acc1 + d1 w1.
  code.get(r1).get(i).i32Const(8).i32Mul().i32Add().set(ei);
  code.get(ei).f64Load(8).f64Const(2).get(v1).f64Mul().get(q1).f64Mul().f64Sub().set(d);
  code.get(ei).get(d).f64Store(8);
  at(pn, i).set(ei);
  code.get(ei).get(ei).f64Load(8).get(s1).get(d).get(w1).f64Mul().f64Add().f64Add().f64Store(8);
  code.get(i).i32Const(2).i32Add().set(i);
  code.br(0).end().end();
  code.get(i);
  const params: ValType[] = [...Array<ValType>(8).fill('i32'), 'f64', 'f64', 'i32'];
  return { name: 'sweepPairs', params, result: 'i32', locals, code };
}
