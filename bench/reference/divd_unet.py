"""A PyTorch port of divd's conditional UNet (src/model/), for the training benchmark's reference timing.

Same blocks in the same order (src/model/layout.ts), same widths, GroupNorm (groups clamped to a divisor,
eps 1e-5), SiLU, sinusoidal timestep embedding + MLP, WTSA over the M x M windows of all F frames with MRPE
(frame PE per attention module, Swin relative bias over the in-frame offset), padding masked out of the keys,
stride-2 down convs with TF 'same' padding (one row/column at the bottom/right) and nearest 2x + conv up.
Tensors are NCHW (PyTorch's fast layout); `divd_state_dict_names` maps every parameter to divd's checkpoint
name, so parameter counts can be compared name by name and divd weights loaded for an output check.

The config is divd's ModelConfig as JSON (the `model` section of a spec after defaults).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

IN_CHANNELS = 6
OUT_CHANNELS = 3
MASKED = -1e9


def groups_for(channels: int, groups: int) -> int:
    """The largest divisor of `channels` that is <= `groups` (src/model/config.ts groupsFor)."""
    for g in range(min(groups, channels), 1, -1):
        if channels % g == 0:
            return g
    return 1


def heads_for(channels: int, head_channels: int) -> int:
    return max(1, channels // head_channels)


def unet_layout(c: dict) -> list[dict]:
    """The flat block list of src/model/layout.ts (same names, same order)."""
    blocks: list[dict] = []
    levels = len(c["channelMults"])
    attend = c["attention"] != "none"
    skips: list[int] = []
    ch = c["baseChannels"]
    blocks.append({"kind": "convIn", "name": "in", "level": 0, "cin": IN_CHANNELS, "cout": ch})

    def push(level: int) -> None:
        blocks.append({"kind": "push", "level": level, "channels": ch})
        skips.append(ch)

    push(0)
    for i in range(levels):
        width = c["baseChannels"] * c["channelMults"][i]
        for r in range(c["resBlocks"]):
            blocks.append({"kind": "res", "name": f"down.{i}.res.{r}", "level": i, "cin": ch, "cout": width, "concatSkip": 0})
            ch = width
            if attend:
                blocks.append({"kind": "attn", "name": f"down.{i}.attn.{r}", "level": i, "channels": ch, "window": c["windows"][i]})
            push(i)
        if i < levels - 1:
            blocks.append({"kind": "down", "name": f"down.{i}.downsample", "level": i, "channels": ch})
            push(i + 1)
    last = levels - 1
    blocks.append({"kind": "res", "name": "mid.res.0", "level": last, "cin": ch, "cout": ch, "concatSkip": 0})
    if attend:
        blocks.append({"kind": "attn", "name": "mid.attn", "level": last, "channels": ch, "window": c["windows"][last]})
    blocks.append({"kind": "res", "name": "mid.res.1", "level": last, "cin": ch, "cout": ch, "concatSkip": 0})
    for i in range(last, -1, -1):
        width = c["baseChannels"] * c["channelMults"][i]
        for r in range(c["resBlocks"] + 1):
            skip = skips.pop()
            blocks.append({"kind": "res", "name": f"up.{i}.res.{r}", "level": i, "cin": ch + skip, "cout": width, "concatSkip": skip})
            ch = width
            if attend:
                blocks.append({"kind": "attn", "name": f"up.{i}.attn.{r}", "level": i, "channels": ch, "window": c["windows"][i]})
        if i > 0:
            blocks.append({"kind": "up", "name": f"up.{i}.upsample", "level": i, "channels": ch})
    blocks.append({"kind": "out", "name": "out", "level": 0, "cin": ch, "cout": OUT_CHANNELS})
    return blocks


def zero_(m: nn.Module) -> nn.Module:
    """divd zero-initialises residual outputs (ResBlock conv2, attention out, the output conv)."""
    for p in m.parameters():
        nn.init.zeros_(p)
    return m


def conv(cin: int, cout: int, k: int = 3, zero: bool = False) -> nn.Conv2d:
    m = nn.Conv2d(cin, cout, k, padding=k // 2)
    nn.init.zeros_(m.bias)
    return zero_(m) if zero else m


def norm(channels: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(groups_for(channels, groups), channels, eps=1e-5)


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """[N, dim]: sin(t*w_i), cos(t*w_i), w_i = 10000^(-i/(half-1)) (src/model/timestep.ts), in float64."""
    half = dim // 2
    step = math.log(10000) / (half - 1) if half > 1 else 0.0
    freqs = torch.exp(-step * torch.arange(half, dtype=torch.float64))
    angles = t.to(torch.float64)[:, None] * freqs[None, :]
    out = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2:
        out = F.pad(out, (0, 1))
    return out.to(torch.float32)


class TimeEmbedding(nn.Module):
    def __init__(self, dim: int, out: int):
        super().__init__()
        self.dim = dim
        self.dense0 = nn.Linear(dim, out)
        self.dense1 = nn.Linear(out, out)
        nn.init.zeros_(self.dense0.bias)
        nn.init.zeros_(self.dense1.bias)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.dense1(F.silu(self.dense0(sinusoidal_embedding(t, self.dim))))


class ResBlock(nn.Module):
    """GN -> SiLU -> conv3x3 -> + dense(SiLU(temb)) -> GN -> SiLU -> dropout -> conv3x3 (zero) -> + skip."""

    def __init__(self, cin: int, cout: int, temb: int, groups: int, dropout: float):
        super().__init__()
        self.norm1 = norm(cin, groups)
        self.conv1 = conv(cin, cout)
        self.temb = nn.Linear(temb, cout)
        nn.init.zeros_(self.temb.bias)
        self.norm2 = norm(cout, groups)
        self.conv2 = conv(cout, cout, zero=True)
        self.skip = conv(cin, cout, 1) if cin != cout else None
        self.dropout = dropout

    def forward(self, x: torch.Tensor, temb_act: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(temb_act)[:, :, None, None]
        h = F.silu(self.norm2(h))
        if self.dropout > 0:
            h = F.dropout(h, self.dropout, self.training)
        h = self.conv2(h)
        return (self.skip(x) if self.skip is not None else x) + h


def relative_position_index(m: int) -> torch.Tensor:
    """Swin's index over the M*M tokens of one frame: (dy + M - 1) * (2M - 1) + (dx + M - 1)."""
    ys, xs = torch.meshgrid(torch.arange(m), torch.arange(m), indexing="ij")
    coords = torch.stack([ys.flatten(), xs.flatten()])  # [2, M*M]
    rel = coords[:, :, None] - coords[:, None, :] + (m - 1)
    return rel[0] * (2 * m - 1) + rel[1]


class WindowAttention(nn.Module):
    """WTSA (or per-frame 'spatial') window attention with frame PE and relative bias; pre-norm, residual."""

    def __init__(self, channels: int, window: int, c: dict):
        super().__init__()
        self.kind = c["attention"]
        self.window = window
        self.frames = c["frames"]
        self.heads = heads_for(channels, c["headChannels"])
        self.norm = norm(channels, c["groups"])
        self.q = nn.Linear(channels, channels)
        self.k = nn.Linear(channels, channels, bias=False)  # a key bias cancels in the softmax
        self.v = nn.Linear(channels, channels)
        self.out = zero_(nn.Linear(channels, channels))
        nn.init.zeros_(self.q.bias)
        nn.init.zeros_(self.v.bias)
        self.frame_pe = nn.Parameter(torch.randn(self.frames, channels) * 0.02) if c["mrpe"]["framePE"] else None
        if c["mrpe"]["relBias"] and window > 1:
            self.rel_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, self.heads) * 0.02)
            f = self.frames if self.kind == "wtsa" else 1
            spatial = relative_position_index(window)
            # Tokens are (f, y, x); every frame pair shares the in-frame spatial offsets.
            self.register_buffer("rel_index", spatial.repeat(f, f), persistent=False)
        else:
            self.rel_table = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, hgt, wid = x.shape
        h = self.norm(x)
        if self.frame_pe is not None:
            f = self.frames
            h = (h.view(n // f, f, c, hgt, wid) + self.frame_pe.view(1, f, c, 1, 1)).view(n, c, hgt, wid)
        f = self.frames if self.kind == "wtsa" else 1
        s = n // f
        m = self.window
        nh, nw = -(-hgt // m), -(-wid // m)
        hp, wp = nh * m, nw * m
        if (hp, wp) != (hgt, wid):
            h = F.pad(h, (0, wp - wid, 0, hp - hgt))
        # [S, F, C, nh, M, nw, M] -> [S, nh, nw, F, M, M, C] -> windows of F*M*M tokens.
        tokens = h.view(s, f, c, nh, m, nw, m).permute(0, 3, 5, 1, 4, 6, 2).reshape(s * nh * nw, f * m * m, c)
        wn, t, _ = tokens.shape
        d = c // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(wn, t, self.heads, d).transpose(1, 2)  # [Wn, heads, T, d]

        q, k, v = split(self.q(tokens)), split(self.k(tokens)), split(self.v(tokens))
        logits = torch.matmul(q * (1.0 / math.sqrt(d)), k.transpose(-1, -2))  # [Wn, heads, T, T]
        if self.rel_table is not None:
            bias = self.rel_table[self.rel_index.flatten()].view(t, t, self.heads).permute(2, 0, 1)
            logits = logits + bias
        if (hp, wp) != (hgt, wid):
            logits = logits + self.key_mask(s, f, hgt, wid, nh, nw, x.device)
        o = torch.matmul(torch.softmax(logits, dim=-1), v).transpose(1, 2).reshape(wn, t, c)
        o = self.out(o)
        merged = o.view(s, nh, nw, f, m, m, c).permute(0, 3, 6, 1, 4, 2, 5).reshape(n, c, hp, wp)
        return x + merged[:, :, :hgt, :wid]

    def key_mask(self, s: int, f: int, hgt: int, wid: int, nh: int, nw: int, device: torch.device) -> torch.Tensor:
        m = self.window
        valid = torch.zeros(nh * m, nw * m, device=device)
        valid[hgt:, :] = MASKED
        valid[:, wid:] = MASKED
        per = valid.view(nh, m, nw, m).permute(0, 2, 1, 3).reshape(nh * nw, 1, m * m).expand(nh * nw, f, m * m)
        return per.reshape(nh * nw, 1, 1, f * m * m).repeat(s, 1, 1, 1)


class DivdUNet(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.config = c
        self.layout = unet_layout(c)
        temb = 4 * c["baseChannels"]
        self.temb = TimeEmbedding(c["baseChannels"], temb)
        mods: list[nn.Module] = []
        for b in self.layout:
            k = b["kind"]
            if k == "convIn":
                mods.append(conv(b["cin"], b["cout"]))
            elif k in ("down", "up"):
                mods.append(conv(b["channels"], b["channels"]))
            elif k == "res":
                mods.append(ResBlock(b["cin"], b["cout"], temb, c["groups"], c["dropout"]))
            elif k == "attn":
                mods.append(WindowAttention(b["channels"], b["window"], c))
            elif k == "out":
                mods.append(nn.Sequential(norm(b["cin"], c["groups"]), nn.SiLU(), conv(b["cin"], b["cout"], zero=True)))
            else:
                mods.append(nn.Identity())  # push: keeps indices aligned with the layout
        self.blocks = nn.ModuleList(mods)

    def forward(self, x_noisy: torch.Tensor, blurry: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_noisy, blurry: [S*F, 3, H, W] (the F frames of a sequence contiguous); t: one per image."""
        temb_act = F.silu(self.temb(t))
        skips: list[torch.Tensor] = []
        x = torch.cat([x_noisy, blurry], dim=1)
        for b, mod in zip(self.layout, self.blocks):
            k = b["kind"]
            if k == "push":
                skips.append(x)
            elif k == "res":
                if b["concatSkip"]:
                    x = torch.cat([x, skips.pop()], dim=1)
                x = mod(x, temb_act)
            elif k == "down":
                # TF 'same' at stride 2 on even sizes: one row/column of zeros at the bottom/right only.
                x = F.conv2d(F.pad(x, (0, 1, 0, 1)), mod.weight, mod.bias, stride=2)
            elif k == "up":
                x = mod(F.interpolate(x, scale_factor=2, mode="nearest"))
            else:
                x = mod(x)
        return x


def divd_state_dict_names(model: DivdUNet) -> dict[str, tuple[str, str]]:
    """torch parameter name -> (divd parameter name, layout: 'conv' | 'dense' | 'plain')."""
    out: dict[str, tuple[str, str]] = {}
    for name, _ in model.named_parameters():
        parts = name.split(".")
        if parts[0] == "temb":
            out[name] = (f"temb.{parts[1]}.{'w' if parts[2] == 'weight' else 'b'}", "dense" if parts[2] == "weight" else "plain")
            continue
        block = model.layout[int(parts[1])]
        base = block["name"]
        rest = parts[2:]
        kind = block["kind"]
        if kind in ("convIn", "down", "up"):
            out[name] = (f"{base}.{'w' if rest[0] == 'weight' else 'b'}", "conv" if rest[0] == "weight" else "plain")
        elif kind == "out":
            sub, leaf = rest
            if sub == "0":
                out[name] = (f"{base}.norm.{'gamma' if leaf == 'weight' else 'beta'}", "plain")
            else:
                out[name] = (f"{base}.conv.{'w' if leaf == 'weight' else 'b'}", "conv" if leaf == "weight" else "plain")
        elif kind == "res":
            sub, leaf = rest
            if sub.startswith("norm"):
                out[name] = (f"{base}.{sub}.{'gamma' if leaf == 'weight' else 'beta'}", "plain")
            else:
                layout = "plain" if leaf == "bias" else ("dense" if sub == "temb" else "conv")
                out[name] = (f"{base}.{sub}.{'w' if leaf == 'weight' else 'b'}", layout)
        elif kind == "attn":
            if rest == ["frame_pe"]:
                out[name] = (f"{base}.framePE", "plain")
            elif rest == ["rel_table"]:
                out[name] = (f"{base}.relTable", "plain")
            else:
                sub, leaf = rest
                if sub == "norm":
                    out[name] = (f"{base}.norm.{'gamma' if leaf == 'weight' else 'beta'}", "plain")
                else:
                    out[name] = (f"{base}.{sub}.{'w' if leaf == 'weight' else 'b'}", "dense" if leaf == "weight" else "plain")
    return out


def load_divd_weights(model: DivdUNet, weights: dict[str, torch.Tensor]) -> None:
    """Copies divd tensors (HWIO convs, [in, out] dense) into the NCHW/[out, in] torch layout."""
    names = divd_state_dict_names(model)
    params = dict(model.named_parameters())
    missing = [d for d, _ in names.values() if d not in weights]
    if missing:
        raise KeyError(f"divd weights lack {missing[:5]}")
    with torch.no_grad():
        for tname, (dname, layout) in names.items():
            w = weights[dname]
            if layout == "conv":
                w = w.permute(3, 2, 0, 1)
            elif layout == "dense":
                w = w.t()
            params[tname].copy_(w.reshape(params[tname].shape))
