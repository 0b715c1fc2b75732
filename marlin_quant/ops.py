"""The Marlin FP16xINT4 matmul as a torch custom op: ``torch.ops.marlin_quant.gemm``.

``C = A @ dequant(B, s)`` with A (m, k) fp16, B the packed 4-bit weight (k // 16, 2n) int32, s the
packed fp16 scales, C (m, n) fp16.

* On CUDA tensors the bundled kernel runs (``csrc/marlin_kernel.cu``, loaded from the shared
  library that ``setup.py`` or ``python scripts/build_kernels.py`` builds). If the kernel cannot
  run, the call raises; there is no silent fallback.
* On CPU tensors the reference runs: unpack, dequantize, matmul in fp32. It is also the oracle of
  every kernel test.

The kernel library has a plain C ABI (no torch, no Python headers), so one build works with any
torch version; this module is the binding: it validates every input before launch, plans the
launch (tile shape, k-splits), and registers the op with a fake implementation so that it works
under ``torch.compile(fullgraph=True)`` and inside CUDA graph capture.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from . import packing

__all__ = [
    "gemm",
    "reference_gemm",
    "kernel_available",
    "kernel_library_path",
    "make_workspace",
    "plan_launch",
    "KernelUnavailableError",
]

_LIB_NAME = "libmarlin_quant_kernels.so"
_LIB_DIR = Path(__file__).resolve().parent / "_lib"
_lib_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_lib_error: str | None = None


class KernelUnavailableError(RuntimeError):
    """The CUDA kernel library is missing or cannot run on this GPU."""


def kernel_library_path() -> Path:
    """Where the kernel library is looked for (``MARLIN_QUANT_LIB`` overrides)."""
    override = os.environ.get("MARLIN_QUANT_LIB")
    return Path(override) if override else _LIB_DIR / _LIB_NAME


def _load_library() -> ctypes.CDLL:
    global _lib, _lib_error
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = kernel_library_path()
        if not path.exists():
            _lib_error = (
                f"the Marlin kernel library was not found at {path}. Build it with "
                "`python scripts/build_kernels.py` (needs nvcc >= 12) or reinstall with "
                "`pip install .` on a machine with CUDA"
            )
            raise KernelUnavailableError(_lib_error)
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as exc:
            _lib_error = f"the Marlin kernel library at {path} failed to load: {exc}"
            raise KernelUnavailableError(_lib_error) from exc
        lib.mq_gemm.restype = ctypes.c_int
        lib.mq_gemm.argtypes = [
            ctypes.c_void_p,  # A
            ctypes.c_void_p,  # B
            ctypes.c_void_p,  # s
            ctypes.c_void_p,  # C
            ctypes.c_void_p,  # partials (fp32) or NULL
            ctypes.c_void_p,  # counters (int32) or NULL
            ctypes.c_int,  # m
            ctypes.c_int,  # n
            ctypes.c_int,  # k
            ctypes.c_int,  # groupsize
            ctypes.c_int,  # m_blocks
            ctypes.c_int,  # warps_n
            ctypes.c_int,  # splits
            ctypes.c_int,  # device
            ctypes.c_void_p,  # stream
        ]
        lib.mq_error_string.restype = ctypes.c_char_p
        lib.mq_error_string.argtypes = [ctypes.c_int]
        lib.mq_version.restype = ctypes.c_int
        _lib = lib
        return lib


def kernel_available() -> bool:
    """True when a CUDA device of compute capability >= 8.0 and the kernel library are present."""
    if not torch.cuda.is_available():
        return False
    if torch.cuda.get_device_capability() < (8, 0):
        return False
    try:
        _load_library()
    except KernelUnavailableError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Launch planning
# --------------------------------------------------------------------------------------------

MAX_M_BLOCKS = 4  # 16-row blocks of A per thread block: at most 64 rows per pass over B
WARPS = 8


@dataclass(frozen=True)
class LaunchPlan:
    m_blocks: int  # 16-row blocks per m-chunk
    warps_n: int  # warps side by side along n; each covers 64 columns (tile n = 64 * warps_n)
    splits: int  # k is split into this many parts, reduced across thread blocks
    m_chunks: int
    n_slices: int

    @property
    def counters(self) -> int:
        return self.m_chunks * self.n_slices if self.splits > 1 else 0

    def partial_elems(self, m: int, n: int) -> int:
        return self.splits * m * n if self.splits > 1 else 0


def _stripes_per_stage(m_blocks: int, warps_n: int) -> int:
    # Must match csrc/marlin_kernel.cu: about 16 KB of A + B per pipeline stage.
    warps_k = WARPS // warps_n
    ks = 32 // (m_blocks + warps_n)
    ks = 1 << (ks.bit_length() - 1)
    return max(ks, warps_k)


@functools.lru_cache(maxsize=4096)
def plan_launch(m: int, n: int, k: int, groupsize: int, sms: int) -> LaunchPlan:
    """Choose the tile shape and k-splits for one product; cached per shape.

    A small cost model in bytes-equivalents per SM: each thread block streams its weight tile
    (B) and activations (A), or is bound by its tensor-core work, whichever is larger, plus a
    pipeline fill; blocks run in waves of ``sms``. Small m has few output tiles, so k is split
    until every SM has equal work (the fp32 partials' round trip is charged); large m runs in
    64-row chunks, each reusing the weight tile from L2.
    """
    del groupsize  # every tile shape handles every group size
    m_blocks = min(MAX_M_BLOCKS, -(-m // 16))
    m_chunks = -(-m // (16 * m_blocks))
    mt = 16 * m_blocks
    best: tuple[float, LaunchPlan] | None = None
    for warps_n in (1, 2, 4):
        tn = 64 * warps_n
        n_slices = -(-n // tn)
        tk = 16 * _stripes_per_stage(m_blocks, warps_n)
        k_stages = -(-k // tk)
        for splits in range(1, min(32, k_stages) + 1):
            tiles = m_chunks * n_slices
            if splits > 1 and tiles >= sms:
                break
            k_unit = -(-k_stages // splits) * tk
            b_bytes = k_unit * tn / 2
            a_bytes = k_unit * mt * 2 * 0.3  # mostly L2 hits: A is shared by every n-slice
            mma = 0.012 * mt * tn * k_unit  # bytes-equivalent of one SM's tensor-core time
            fill = 2 * tk * (tn / 2 + mt * 2)
            unit = max(b_bytes + a_bytes, mma) + fill
            if splits > 1:
                unit += mt * tn * 4 * 2
            waves = -(-tiles * splits // sms)
            cost = waves * unit
            plan = LaunchPlan(m_blocks, warps_n, splits, m_chunks, n_slices)
            if best is None or cost < best[0] * (1 - 1e-9):
                best = (cost, plan)
    assert best is not None
    return best[1]


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _check_inputs(A: torch.Tensor, B: torch.Tensor, s: torch.Tensor, groupsize: int) -> tuple[int, int, int]:
    if not isinstance(A, torch.Tensor) or not isinstance(B, torch.Tensor) or not isinstance(s, torch.Tensor):
        raise TypeError("A, B and s must be torch tensors")
    if A.dim() != 2:
        raise ValueError(f"A must be 2-D (m, k), got shape {tuple(A.shape)}; flatten leading dims first")
    if A.dtype != torch.float16:
        raise ValueError(f"A must be float16, got {A.dtype}; convert the activations with .half()")
    if B.dtype != torch.int32 or B.dim() != 2:
        raise ValueError(f"B must be a 2-D int32 tensor in Marlin layout, got {B.dtype} with {B.dim()} dims")
    if s.dtype != torch.float16 or s.dim() != 2:
        raise ValueError(f"s must be a 2-D float16 tensor of packed scales, got {s.dtype} with {s.dim()} dims")
    m, k = A.shape
    if m == 0:
        raise ValueError("A has m = 0 rows; call the op only with at least one row")
    if B.shape[0] * 16 != k:
        raise ValueError(f"A has k={k} columns but B has {B.shape[0]} rows; B must have k/16 = {k / 16:g} rows")
    if B.shape[1] % 2:
        raise ValueError(f"B has {B.shape[1]} columns; it must have 2n columns")
    n = B.shape[1] // 2
    try:
        packing.check_shape(k, n, groupsize)
    except packing.PackingError as exc:
        raise ValueError(str(exc)) from None
    expected = (packing.num_groups(k, groupsize), n)
    if tuple(s.shape) != expected:
        raise ValueError(f"s has shape {tuple(s.shape)}, expected {expected} for k={k}, n={n}, groupsize={groupsize}")
    devices = {A.device, B.device, s.device}
    if len(devices) != 1:
        raise ValueError(f"A, B and s must be on one device, got {sorted(str(d) for d in devices)}")
    for name, t in (("A", A), ("B", B), ("s", s)):
        if not t.is_contiguous():
            raise ValueError(f"{name} must be contiguous; call .contiguous() on it first")
    return m, n, k


def reference_gemm(A: torch.Tensor, B: torch.Tensor, s: torch.Tensor, groupsize: int) -> torch.Tensor:
    """The CPU oracle: unpack B and s, dequantize, matmul in fp32, return in A's dtype."""
    m, k = A.shape
    n = B.shape[1] // 2
    codes, scales = packing.unpack(B, s, k, n, groupsize)
    w = packing.dequantize(codes, scales, groupsize)
    return (A.to(torch.float32) @ w.to(A.device)).to(A.dtype)


# --------------------------------------------------------------------------------------------
# Workspace
# --------------------------------------------------------------------------------------------

WORKSPACE_MIN = 4096


def make_workspace(device: torch.device | str | int, size: int = WORKSPACE_MIN) -> torch.Tensor:
    """A zeroed int32 workspace for :func:`gemm`; the kernel leaves it zero after each call.

    Use one workspace per CUDA stream: two launches in flight at once on one workspace would
    share its counters.
    """
    return torch.zeros(max(size, WORKSPACE_MIN), dtype=torch.int32, device=device)


def _sm_count(device: torch.device) -> int:
    return _sm_count_cached(device.index if device.index is not None else torch.cuda.current_device())


@functools.lru_cache(maxsize=None)
def _sm_count_cached(index: int) -> int:
    return torch.cuda.get_device_properties(index).multi_processor_count


def _launch(A: torch.Tensor, B: torch.Tensor, s: torch.Tensor, groupsize: int, workspace: torch.Tensor | None) -> torch.Tensor:
    m, n, k = A.shape[0], B.shape[1] // 2, A.shape[1]
    device = A.device
    major, minor = torch.cuda.get_device_capability(device)
    if (major, minor) < (8, 0):
        raise KernelUnavailableError(
            f"the Marlin kernel needs compute capability 8.0 or newer (Ampere, Ada, Hopper); "
            f"{torch.cuda.get_device_name(device)} is {major}.{minor}. Run on CPU tensors for the reference path"
        )
    lib = _load_library()
    plan = plan_launch(m, n, k, groupsize, _sm_count(device))
    C = torch.empty((m, n), dtype=A.dtype, device=device)
    partials = None
    counters = None
    if plan.splits > 1:
        partials = torch.empty(plan.partial_elems(m, n), dtype=torch.float32, device=device)
        if workspace is None:
            counters = torch.zeros(plan.counters, dtype=torch.int32, device=device)
        else:
            counters = workspace
            if counters.numel() < plan.counters:
                raise ValueError(
                    f"workspace has {counters.numel()} entries but this product needs {plan.counters}; "
                    "allocate it with marlin_quant.ops.make_workspace(device, size)"
                )
    stream = torch.cuda.current_stream(device).cuda_stream
    err = lib.mq_gemm(
        A.data_ptr(), B.data_ptr(), s.data_ptr(), C.data_ptr(),
        partials.data_ptr() if partials is not None else None,
        counters.data_ptr() if counters is not None else None,
        m, n, k, groupsize, plan.m_blocks, plan.warps_n, plan.splits,
        device.index if device.index is not None else torch.cuda.current_device(),
        stream,
    )
    if err != 0:
        msg = lib.mq_error_string(err).decode()
        raise RuntimeError(f"Marlin kernel launch failed for m={m}, n={n}, k={k}, groupsize={groupsize}: {msg}")
    return C


def _check_workspace(workspace: torch.Tensor | None, device: torch.device) -> None:
    if workspace is None:
        return
    if workspace.dtype != torch.int32 or workspace.dim() != 1:
        raise ValueError("workspace must be a 1-D int32 tensor; make one with marlin_quant.ops.make_workspace(device)")
    if workspace.device != device:
        raise ValueError(f"workspace is on {workspace.device} but A is on {device}; keep them on one device")
    if not workspace.is_contiguous():
        raise ValueError("workspace must be contiguous")


@torch.library.custom_op("marlin_quant::gemm", mutates_args=("workspace",))
def _gemm_op(A: torch.Tensor, B: torch.Tensor, s: torch.Tensor, groupsize: int, workspace: torch.Tensor | None) -> torch.Tensor:
    if A.is_cuda:
        return _launch(A, B, s, groupsize, workspace)
    return reference_gemm(A, B, s, groupsize)


@_gemm_op.register_fake
def _gemm_fake(A: torch.Tensor, B: torch.Tensor, s: torch.Tensor, groupsize: int, workspace: torch.Tensor | None) -> torch.Tensor:
    return A.new_empty((A.shape[0], B.shape[1] // 2))


def gemm(
    A: torch.Tensor,
    B: torch.Tensor,
    s: torch.Tensor,
    groupsize: int,
    workspace: torch.Tensor | None = None,
) -> torch.Tensor:
    """``C = A @ dequant(B, s)``.

    Args:
        A: fp16 (m, k), contiguous, m >= 1.
        B: int32 (k // 16, 2n), packed by :func:`marlin_quant.packing.pack`.
        s: fp16 (k // groupsize, n), or (1, n) for per-channel, packed alongside B.
        groupsize: 32, 64, 128 or -1.
        workspace: optional int32 tensor from :func:`make_workspace` (zero, left zero); without
            one, a fresh zeroed one is made per call (an extra memset). One per stream.

    Returns:
        C: fp16 (m, n) on A's device. CUDA tensors run the kernel, CPU tensors the reference.
    """
    _check_inputs(A, B, s, groupsize)
    _check_workspace(workspace, A.device)
    return torch.ops.marlin_quant.gemm(A, B, s, groupsize, workspace)
