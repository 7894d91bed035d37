"""Times divd's training step and DDIM sampling in PyTorch, for `npm run bench -- train`.

Usage: OPENBLAS_NUM_THREADS=1 python3 bench_train.py '<case JSON>'
The case JSON (written by bench/train.ts) holds: model (divd's ModelConfig), sequences, crop, threads,
steps, warmup, prediction, timesteps, betaStart, betaEnd, lr, gradClip, sampleSteps (0: no sampling),
divdWeights (optional: a JSON file of divd weights and a batch, to check the outputs agree).
The last stdout line is one JSON object: parameters, per-step times, peak RSS, sampling frames/s.

The step is what src/train does per update: uniform t per window, x_t = q_sample, MSE to the target,
backward, global-norm clipping, Adam (PyTorch's arithmetic, as src/train/adam.ts).
"""
from __future__ import annotations

import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from divd_unet import DivdUNet, load_divd_weights  # noqa: E402


def linear_alpha_bar(timesteps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    betas = torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def check_against_divd(model: DivdUNet, path: str) -> float:
    """Loads divd's weights and inputs, returns max |torch - divd| / max |divd| of the prediction."""
    with open(path) as f:
        data = json.load(f)
    weights = {k: torch.tensor(v["data"], dtype=torch.float32).reshape(v["shape"]) for k, v in data["weights"].items()}
    load_divd_weights(model, weights)

    def nchw(v: dict) -> torch.Tensor:
        return torch.tensor(v["data"], dtype=torch.float32).reshape(v["shape"]).permute(0, 3, 1, 2)

    with torch.no_grad():
        out = model(nchw(data["xNoisy"]), nchw(data["blurry"]), torch.tensor(data["t"], dtype=torch.float32))
    ref = nchw(data["output"])
    return float((out - ref).abs().max() / ref.abs().max().clamp_min(1e-30))


def main() -> None:
    case = json.loads(sys.argv[1])
    torch.set_num_threads(case["threads"])
    torch.manual_seed(0)
    c = case["model"]
    model = DivdUNet(c)
    params = sum(p.numel() for p in model.parameters())
    result: dict = {"parameters": params, "threads": torch.get_num_threads(), "torch": torch.__version__}
    if case.get("divdWeights"):
        result["agreement"] = check_against_divd(model, case["divdWeights"])

    s, f, crop = case["sequences"], c["frames"], case["crop"]
    n = s * f
    sharp = torch.rand(n, 3, crop, crop) * 2 - 1
    blurry = torch.rand(n, 3, crop, crop) * 2 - 1
    ab = linear_alpha_bar(case["timesteps"], case["betaStart"], case["betaEnd"])
    opt = torch.optim.Adam(model.parameters(), lr=case["lr"], betas=(0.9, 0.999), eps=1e-8)

    def step() -> None:
        t = torch.randint(0, case["timesteps"], (s,)).repeat_interleave(f)
        a = ab[t].sqrt().float().view(n, 1, 1, 1)
        b = (1 - ab[t]).sqrt().float().view(n, 1, 1, 1)
        noise = torch.randn_like(sharp)
        pred = model(a * sharp + b * noise, blurry, t.float())
        target = sharp if case["prediction"] == "x0" else noise if case["prediction"] == "eps" else a * noise - b * sharp
        loss = F.mse_loss(pred, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if case["gradClip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), case["gradClip"])
        opt.step()

    model.train()
    for _ in range(case["warmup"]):
        step()
    times = []
    for _ in range(case["steps"]):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    result.update(stepMs=median(times), stepMinMs=min(times), runs=len(times))

    if case.get("sampleSteps", 0) > 0:
        result["sampleFps"] = sample_fps(model, blurry, ab, case)
    result["peakRssMb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def sample_fps(model: DivdUNet, blurry: torch.Tensor, ab: torch.Tensor, case: dict) -> float:
    """DDIM (eta 0, leading spacing, x0 clipped to [-1, 1]) over the batch; frames per second, best of 2."""
    steps, total = case["sampleSteps"], case["timesteps"]
    stride = total // steps
    ts = [(steps - 1 - k) * stride for k in range(steps)]
    n = blurry.shape[0]
    model.eval()
    best = math.inf
    with torch.no_grad():
        for _ in range(2):
            t0 = time.perf_counter()
            x = torch.randn_like(blurry)
            for i, t in enumerate(ts):
                a_t = ab[t].item()
                a_prev = ab[ts[i + 1]].item() if i + 1 < len(ts) else 1.0
                out = model(x, blurry, torch.full((n,), float(t)))
                if case["prediction"] == "eps":
                    x0 = (x - math.sqrt(1 - a_t) * out) / math.sqrt(a_t)
                elif case["prediction"] == "x0":
                    x0 = out
                else:
                    x0 = math.sqrt(a_t) * x - math.sqrt(1 - a_t) * out
                x0 = x0.clamp(-1, 1)
                eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
                x = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
            best = min(best, time.perf_counter() - t0)
    return n / best


if __name__ == "__main__":
    main()
