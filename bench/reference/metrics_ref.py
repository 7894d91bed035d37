#!/usr/bin/python3
"""Reference side of `npm run bench -- metrics`: scikit-image SSIM and pytorch-fid's Fréchet distance.

Writes the benchmark inputs (seeded, so every run compares the same data) as raw little-endian files into
OUT_DIR for the TypeScript side to read, times the reference implementations on them and prints one JSON
object on stdout:

  ssim_a.u8, ssim_b.u8     two 720x1280x3 uint8 frames (row-major HWC)
  mu1.f64 sigma1.f64 mu2.f64 sigma2.f64   Inception-sized (2048-d) full-rank statistics, float64

Usage: metrics_ref.py OUT_DIR [--repeats N] [--skip-frechet]
"""
import json
import sys
import time

import numpy as np
from scipy import linalg
from scipy.linalg import blas
from skimage.metrics import structural_similarity

WIDTH, HEIGHT, DIM, SAMPLES = 1280, 720, 2048, 3072


def frames(rng):
    """A smooth textured frame and a blurred, noisy copy: SSIM well inside (0, 1), like a restored frame."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    base = 128 + 60 * np.sin(xx / 37.0)[..., None] * np.cos(yy / 23.0)[..., None] * np.array([1.0, 0.8, 0.6])
    base += rng.normal(0, 25, size=(HEIGHT, WIDTH, 3))
    gt = np.clip(base, 0, 255).astype(np.uint8)
    blurred = (base + np.roll(base, 1, axis=1) + np.roll(base, 1, axis=0)) / 3
    pred = np.clip(blurred + rng.normal(0, 8, size=base.shape), 0, 255).astype(np.uint8)
    return pred, gt


def statistics(rng, shift):
    """Post-ReLU features with a decaying spectrum (as Inception pool features have), then mu and np.cov."""
    scales = 1.0 / (1.0 + np.arange(DIM) / 64.0)
    mixing = rng.standard_normal((DIM, DIM)) * scales[:, None] / np.sqrt(DIM)
    feats = np.maximum(rng.standard_normal((SAMPLES, DIM)) @ mixing + shift, 0)
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_pytorch_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance, step for step (sqrtm of the product, eps retry, real part)."""
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component {}".format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_cholesky_route(mu1, sigma1, mu2, sigma2):
    """The identity divd uses (metrics/frechet.ts): S1 = L L', tr sqrt(S1 S2) = sum sqrt(eig(L' S2 L))."""
    low = np.asfortranarray(np.linalg.cholesky(sigma1))
    # Two triangular products (BLAS dtrmm, d^3 flops each: half of a full GEMM): W = L' S2, M = W L.
    w = blas.dtrmm(1.0, low, np.asfortranarray(sigma2), side=0, lower=1, trans_a=1)
    m = blas.dtrmm(1.0, low, w, side=1, lower=1, trans_a=0)
    eig = np.linalg.eigvalsh(m)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.clip(eig, 0, None)).sum())


def median_time(fn, repeats):
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return value, float(np.median(times)), float(min(times))


def main():
    out_dir = sys.argv[1]
    repeats = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 5
    rng = np.random.default_rng(20241202)
    pred, gt = frames(rng)
    pred.tofile(f"{out_dir}/ssim_a.u8")
    gt.tofile(f"{out_dir}/ssim_b.u8")
    ssim_value, ssim_ms, ssim_min = median_time(
        lambda: float(structural_similarity(pred, gt, channel_axis=2, data_range=255, gaussian_weights=True,
                                            sigma=1.5, use_sample_covariance=False)),
        repeats,
    )
    result = {
        "ssim": {"width": WIDTH, "height": HEIGHT, "value": ssim_value, "median_ms": ssim_ms, "min_ms": ssim_min,
                 "runs": repeats, "impl": "skimage.metrics.structural_similarity"},
    }
    if "--skip-frechet" not in sys.argv:
        mu1, sigma1 = statistics(rng, 0.0)
        mu2, sigma2 = statistics(rng, 0.05)
        for name, arr in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
            arr.astype("<f8").tofile(f"{out_dir}/{name}.f64")
        # One run: sqrtm of a 2048x2048 product takes seconds.
        fid_value, fid_ms, _ = median_time(lambda: frechet_pytorch_fid(mu1, sigma1, mu2, sigma2), 1)
        # Context for the target: LAPACK's eigenvalues-only symmetric solve (dsyevd via OpenBLAS) of one
        # 2048 x 2048 matrix — the dominant step of any exact eigenvalue route, ours included.
        _, eig_ms, _ = median_time(lambda: np.linalg.eigvalsh(sigma1), 1)
        # divd's own route in native LAPACK/OpenBLAS (AVX-512, all cores): what the same arithmetic costs
        # without WebAssembly, i.e. the floor for any implementation of it on this machine.
        native_value, native_ms, _ = median_time(lambda: frechet_cholesky_route(mu1, sigma1, mu2, sigma2), 3)
        result["frechet"] = {"dim": DIM, "samples": SAMPLES, "value": fid_value, "median_ms": fid_ms, "runs": 1,
                             "impl": "scipy.linalg.sqrtm (pytorch-fid calculate_frechet_distance)",
                             "lapack_eigvalsh_ms": eig_ms,
                             "native_route": {"value": native_value, "median_ms": native_ms, "runs": 3,
                                              "impl": "numpy/OpenBLAS/LAPACK: cholesky, 2 dtrmm, eigvalsh"}}
    result["versions"] = {"numpy": np.__version__, "scipy": __import__("scipy").__version__,
                          "skimage": __import__("skimage").__version__}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
