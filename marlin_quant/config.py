"""``QuantConfig``: the one object that says how a model is compressed, loadable from YAML.

Recipes live in ``configs/*.yaml``; every key is a field of :class:`QuantConfig`, unknown keys are
an error (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .packing import SUPPORTED_GROUPSIZES

METHODS = ("gptq", "rtn")
CLIP_METRICS = ("hessian", "diag")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and what to change."""


@dataclass
class QuantConfig:
    """How to compress a model.

    Attributes:
        wbits: 4 to quantize, 16 to keep the model in full precision (nothing else is supported:
            the Marlin kernel runs 4-bit weights only).
        groupsize: 32, 64, 128, or -1 for one scale per output channel.
        method: ``"gptq"`` (Hessian-aware, needs calibration samples) or ``"rtn"``
            (round-to-nearest, no calibration).
        act_order: solve columns in order of decreasing Hessian diagonal. Scales are fixed per
            group in natural order first ("static groups"), so the output keeps the plain grouped
            layout that the kernel runs without a permutation index.
        clip: choose each group's scale by a grid search over shrink factors of its absmax,
            minimising the Hessian-weighted error (absmax itself, factor 1.0, is always a
            candidate, so the search never does worse than plain absmax under its metric).
        clip_min: smallest shrink factor on the grid (upstream uses 0.25).
        clip_step: spacing of the grid, from 1.0 down to ``clip_min``.
        clip_metric: ``"hessian"`` weights a candidate's error by the full Hessian block the
            solver will see (the Schur complement of the columns still to be solved, as
            upstream); ``"diag"`` by its diagonal only.
        damp: damping added to the Hessian diagonal, as a fraction of its mean. Upstream uses
            0.1; 0.01 measured better on the bundled SmolLM2 both in the calibration's domain and
            on text unlike it (README, "Compression (GPTQ)"), so it is the default here; the
            Llama-2 recipes keep 0.1 to reproduce upstream.
        true_sequential: quantize q/k/v, then o, then gate/up, then down, each on inputs that
            already went through the quantized projections before it.
        nsamples, seqlen, min_tokens: calibration samples: ``nsamples`` documents, each one random
            window of ``seqlen`` tokens, or the whole document when it is shorter (but at least
            ``min_tokens`` long).
        seed: seeds the sampling and everything random in the pipeline.
        dataset: calibration source: ``"stdlib"`` (built in, offline), a path to a .txt file, a
            folder of .txt files, a .jsonl file with a ``text`` field, or a Hub name
            (``redpajama``, ``c4``, ``wikitext2``).
        blocksize: columns per lazy-update block of the GPTQ solver (a multiple of the group
            size).
        batch_tokens: at most this many tokens per forward batch through one decoder layer.
    """

    wbits: int = 4
    groupsize: int = 128
    method: str = "gptq"
    act_order: bool = False
    clip: bool = True
    clip_min: float = 0.25
    clip_step: float = 0.01
    clip_metric: str = "hessian"
    damp: float = 0.01
    true_sequential: bool = True
    nsamples: int = 128
    seqlen: int = 2048
    min_tokens: int = 32
    seed: int = 0
    dataset: str = "stdlib"
    blocksize: int = 128
    batch_tokens: int = 16384
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def enabled(self) -> bool:
        """False when ``wbits == 16``: the model is left as it is."""
        return self.wbits != 16

    def validate(self) -> None:
        if self.wbits not in (4, 16):
            raise ConfigError(
                f"wbits={self.wbits} is not supported: the Marlin kernel runs 4-bit weights; use 4, "
                "or 16 to keep the model in full precision"
            )
        if self.groupsize not in SUPPORTED_GROUPSIZES:
            raise ConfigError(f"groupsize={self.groupsize} is not supported; use one of 32, 64, 128 or -1")
        if self.method not in METHODS:
            raise ConfigError(f"method={self.method!r} is not supported; use one of {', '.join(METHODS)}")
        if self.clip_metric not in CLIP_METRICS:
            raise ConfigError(f"clip_metric={self.clip_metric!r}; use one of {', '.join(CLIP_METRICS)}")
        if not 0.0 < self.clip_min <= 1.0:
            raise ConfigError(f"clip_min={self.clip_min} must lie in (0, 1]")
        if not 0.0 < self.clip_step <= 1.0:
            raise ConfigError(f"clip_step={self.clip_step} must lie in (0, 1]")
        if self.damp <= 0:
            raise ConfigError(f"damp={self.damp} must be positive (a fraction of the mean Hessian diagonal, e.g. 0.01)")
        if self.nsamples < 1 or self.seqlen < 1:
            raise ConfigError(f"nsamples={self.nsamples} and seqlen={self.seqlen} must be positive")
        if self.min_tokens < 2 or self.min_tokens > self.seqlen:
            raise ConfigError(f"min_tokens={self.min_tokens} must lie in [2, seqlen={self.seqlen}]")
        if self.blocksize < 1 or (self.groupsize != -1 and self.blocksize % self.groupsize):
            raise ConfigError(
                f"blocksize={self.blocksize} must be a positive multiple of groupsize={self.groupsize}"
            )
        if self.batch_tokens < 1:
            raise ConfigError(f"batch_tokens={self.batch_tokens} must be positive")

    def clip_grid(self) -> list[float]:
        """Shrink factors tried by the clip search, starting with 1.0 (plain absmax)."""
        steps = int(round((1.0 - self.clip_min) / self.clip_step + 1e-9))
        return [1.0 - i * self.clip_step for i in range(steps + 1)]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("extra")
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "QuantConfig":
        """Build from a mapping; keys that are not fields raise, except the free-form ``model``,
        ``description`` and ``eval`` keys, kept in ``extra`` (recipes document themselves)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        free = {"model", "description", "eval"}
        unknown = set(data) - names - free
        if unknown:
            raise ConfigError(
                f"unknown config key(s): {', '.join(sorted(unknown))}; valid keys are {', '.join(sorted(names))}"
            )
        kwargs = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k in free}
        return cls(**kwargs, extra=extra)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "QuantConfig":
        import yaml

        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist")
        data = yaml.safe_load(p.read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{p} must hold a mapping of config keys, got {type(data).__name__}")
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> "QuantConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)
