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
from torch.utils._python_dispatch import _get_current_dispatch_mode

from . import packing

__all__ = [
    "gemm",
    "reference_gemm",
    "kernel_available",
    "kernel_library_path",
    "make_workspace",
    "plan_launch",
    "device_features",
    "device_clusters",
    "FEATURE_WGMMA",
    "LaunchPlan",
    "KernelUnavailableError",
]

_LIB_NAME = "libmarlin_quant_kernels.so"
_LIB_VERSION = 7  # mq_version() of the csrc/ this binding speaks to (graph ticket slots)
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
        # The ABI first: an older library may lack the symbols bound below.
        lib.mq_version.restype = ctypes.c_int
        if lib.mq_version() < _LIB_VERSION:
            _lib_error = (
                f"the Marlin kernel library at {path} is older than this package (ABI "
                f"{lib.mq_version()}, need {_LIB_VERSION}); rebuild it with `python scripts/build_kernels.py`"
            )
            raise KernelUnavailableError(_lib_error)
        lib.mq_gemm.restype = ctypes.c_int
        lib.mq_gemm.argtypes = [
            ctypes.c_void_p,  # A
            ctypes.c_void_p,  # B
            ctypes.c_void_p,  # s
            ctypes.c_void_p,  # C
            ctypes.c_void_p,  # partials (fp32) or NULL
            ctypes.c_longlong,  # partial capacity (floats)
            ctypes.c_void_p,  # tickets (int32) or NULL
            ctypes.c_int,  # ticket capacity
            ctypes.c_int,  # m
            ctypes.c_int,  # n
            ctypes.c_int,  # k
            ctypes.c_int,  # groupsize
            ctypes.c_int,  # shared memory limit per block (0: device maximum)
            ctypes.c_int,  # device
            ctypes.c_void_p,  # stream
        ]
        lib.mq_plan.restype = ctypes.c_int
        lib.mq_plan.argtypes = [ctypes.c_int] * 8 + [ctypes.POINTER(ctypes.c_int)] * 2 + [ctypes.POINTER(ctypes.c_longlong)]
        lib.mq_device_features.restype = ctypes.c_int
        lib.mq_device_features.argtypes = [ctypes.c_int]
        lib.mq_device_clusters.restype = ctypes.c_int
        lib.mq_device_clusters.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.mq_alloc_tickets.restype = ctypes.c_int
        lib.mq_alloc_tickets.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
        lib.mq_graph_tickets_reserve.restype = ctypes.c_int
        lib.mq_graph_tickets_reserve.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.mq_graph_tickets.restype = ctypes.c_int
        lib.mq_graph_tickets.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int)]
        lib.mq_graph_slot_tickets.restype = ctypes.c_int
        lib.mq_graph_slot_tickets.argtypes = []
        lib.mq_graph_tickets_free.restype = ctypes.c_int
        lib.mq_graph_tickets_free.argtypes = [ctypes.c_int]
        lib.mq_error_string.restype = ctypes.c_char_p
        lib.mq_error_string.argtypes = [ctypes.c_int]
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
# Launch planning (the kernel library owns it; this reads it back to size the buffers)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchPlan:
    m_blocks: int  # token rows per tile / 16 (tiled: 1..4, wgmma: 1, 2, 4 or 8); skinny: token groups of 8 (1)
    stages: int  # pipeline depth
    blocks: int  # grid size
    tickets: int  # int32 tickets needed in the workspace (0: no tile is shared between blocks)
    smem: int  # dynamic shared memory per block, bytes
    stripes: int  # 16-row stripes of k per pipeline stage (skinny: per warp batch)
    partial_floats: int  # fp32 partial buffer the launch needs (0: none)
    kernel: str = "tiled"  # "skinny" (m <= 8: weight streaming), "tiled" (mma.sync) or "wgmma" (Hopper)
    tile_columns: int = 512  # output columns per tile
    cluster: int = 0  # blocks per thread-block cluster (wgmma: 2 where pairs share each stream-K range)
    scales_after_mma: bool = False  # wgmma, groups of 128: scales applied to fp32 sums, not to weights


#: Feature flag of :func:`plan_launch`: the GPU is sm_90 and the library carries its sm_90a
#: (wgmma) code, so m >= 17 takes the Hopper kernel (m = 17-32 where k is a multiple of 128).
FEATURE_WGMMA = 1
_KINDS = ("tiled", "skinny", "wgmma")
_CLUSTER_SIZES = 9  # device_clusters() covers clusters of 0 .. 8 blocks


@functools.lru_cache(maxsize=4096)
def plan_launch(m: int, n: int, k: int, sms: int, smem_optin: int, smem_per_sm: int, features: int = 0,
                clusters: tuple[int, ...] = (), groupsize: int = 128) -> LaunchPlan:
    """How the kernel will run a product of this shape and group size (-1: per channel) on a
    GPU with ``sms`` SMs and these feature flags (``FEATURE_WGMMA``; see
    :func:`device_features`). ``clusters[s]`` is how many thread-block clusters of ``s`` blocks
    the GPU runs at once (:func:`device_clusters`; empty: the plan uses none). No GPU needed."""
    lib = _load_library()
    out = (ctypes.c_int * 10)()
    partial = ctypes.c_longlong(0)
    table = None
    if clusters:
        if len(clusters) != _CLUSTER_SIZES:
            raise ValueError(f"clusters must hold {_CLUSTER_SIZES} counts (cluster sizes 0..{_CLUSTER_SIZES - 1}), got {len(clusters)}")
        table = (ctypes.c_int * _CLUSTER_SIZES)(*clusters)
    err = lib.mq_plan(m, n, k, groupsize, sms, smem_optin, smem_per_sm, features, table, out, ctypes.byref(partial))
    if err != 0:
        raise ValueError(f"cannot plan m={m}, n={n}, k={k}, groupsize={groupsize}: {lib.mq_error_string(err).decode()}")
    return LaunchPlan(out[0], out[1], out[2], out[3], out[4], out[5], partial.value, _KINDS[out[6]], out[7], out[8],
                      bool(out[9]))


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
    if s.shape != expected:
        raise ValueError(f"s has shape {tuple(s.shape)}, expected {expected} for k={k}, n={n}, groupsize={groupsize}")
    if not A.device == B.device == s.device:
        devices = {A.device, B.device, s.device}
        raise ValueError(f"A, B and s must be on one device, got {sorted(str(d) for d in devices)}")
    if not (A.is_contiguous() and B.is_contiguous() and s.is_contiguous()):
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
# Workspace and launch
# --------------------------------------------------------------------------------------------

WORKSPACE_SIZE = 1 << 16  # tickets: the kernel never needs more (see kMaxTickets in csrc)


def make_workspace(device: torch.device | str | int, size: int = WORKSPACE_SIZE) -> torch.Tensor:
    """A zeroed int32 ticket workspace for :func:`gemm`; every call leaves it zero again.

    Only needed to manage workspaces yourself: without one, the op keeps one per
    (device, stream), and a CUDA graph capture one per graph. Never let two launches in flight at
    once (two streams, or two graphs replayed side by side) share one.
    """
    return torch.zeros(size, dtype=torch.int32, device=device)


# Per (device, stream): (ticket pointer, partial-buffer pointer, partial capacity in floats).
_scratch: dict[tuple[int, int], tuple[int, int, int]] = {}
_scratch_lock = threading.Lock()
# Split-k partials up to this many floats per SM come from the per-stream buffer: every skinny
# (decode) plan, which needs at most 2 blocks x 8 chunks x 512 floats per SM, and most plans up
# to m = 16; larger ones come from torch's allocator, where a few microseconds do not matter.
_SCRATCH_PARTIALS_PER_SM = 2 * 8 * 512


def _lib_buffer(index: int, entries: int, what: str) -> int:
    out = ctypes.c_void_p()
    lib = _load_library()
    err = lib.mq_alloc_tickets(index, entries, ctypes.byref(out))
    if err != 0:
        raise RuntimeError(f"could not allocate the Marlin {what}: {lib.mq_error_string(err).decode()}")
    return out.value


def _stream_scratch(index: int, stream: int, sms: int) -> tuple[int, int, int]:
    """The ticket workspace and partial buffer of this (device, stream), as pointers: streams never
    share them, and launches on one stream use them in turn (a launch touches them only after the
    one before it has finished, programmatic dependent launch included).

    They come from the kernel library's own cudaMalloc, outside torch's allocator: a tensor made
    lazily during torch.compile's CUDA-graph warm-up would land in the graph's memory pool, which
    graph trees refuse. Never freed (256 KB + 32 KB per SM per stream, and the graph ticket slots'
    first 512 KB per device).
    """
    key = (index, stream)
    got = _scratch.get(key)
    if got is not None:
        return got
    with _scratch_lock:
        got = _scratch.get(key)
        if got is None:
            capacity = _SCRATCH_PARTIALS_PER_SM * sms
            got = (_lib_buffer(index, WORKSPACE_SIZE, "ticket workspace"), _lib_buffer(index, capacity, "partial buffer"), capacity)
            _reserve_graph_tickets(index)
            _scratch[key] = got
    return got


# Launches captured into a CUDA graph take their tickets from a slot of the kernel library's
# (mq_graph_tickets in csrc): one per capture and stream, zeroed ahead of time, given back when
# the graph is destroyed; so a graph holds no memset before its split-k launches. Slots can only
# be made outside a capture: the first eager launch on a device makes a few, and an eager launch
# after a capture that left fewer than _GRAPH_SLOTS_LOW makes more. A capture that finds none (a
# capture before any eager launch) falls back to a fresh zeroed workspace.
_GRAPH_SLOTS_LOW = 8
_graph_slots_low: set[int] = set()  # devices whose free slots ran low during a capture


def _reserve_graph_tickets(index: int) -> None:
    err = _load_library().mq_graph_tickets_reserve(index, 2 * _GRAPH_SLOTS_LOW, None)  # the free count is not needed
    if err != 0:
        raise RuntimeError(f"could not allocate the Marlin ticket slots for CUDA graphs: {_load_library().mq_error_string(err).decode()}")
    _graph_slots_low.discard(index)


def _graph_tickets(index: int, stream: int, needed: int) -> tuple[int, int] | None:
    """(pointer, tickets) of the slot of the capture in progress on ``stream``; None where no slot
    is free or a slot is too small for this plan."""
    lib = _load_library()
    size = lib.mq_graph_slot_tickets()
    if needed > size:
        return None
    slot, free = ctypes.c_void_p(), ctypes.c_int()
    err = lib.mq_graph_tickets(index, stream, ctypes.byref(slot), ctypes.byref(free))
    if err != 0:
        raise RuntimeError(f"could not take a Marlin ticket slot for this CUDA graph capture: {lib.mq_error_string(err).decode()}")
    if free.value < _GRAPH_SLOTS_LOW:
        _graph_slots_low.add(index)
    return (slot.value, size) if slot.value else None


# Shared memory (per block opt-in, per SM) by compute capability, for torch builds whose device
# properties lack the fields.
_SMEM_BY_CC = {(8, 0): (166912, 167936), (8, 6): (101376, 102400), (8, 7): (166912, 167936),
               (8, 9): (101376, 102400), (9, 0): (232448, 233472)}


@functools.lru_cache(maxsize=None)
def _device_facts(index: int) -> tuple[int, int, int, tuple[int, int], int]:
    """(SM count, shared memory opt-in per block, shared memory per SM, compute capability,
    planner feature flags)."""
    props = torch.cuda.get_device_properties(index)
    cc = (props.major, props.minor)
    optin, per_sm = _SMEM_BY_CC.get(cc, (101376, 102400))
    optin = getattr(props, "shared_memory_per_block_optin", 0) or optin
    per_sm = getattr(props, "shared_memory_per_multiprocessor", 0) or per_sm
    # Older GPUs are refused before launch; their features are never asked for.
    features = device_features(index) if cc >= (8, 0) else 0
    return props.multi_processor_count, optin, per_sm, cc, features


@functools.lru_cache(maxsize=None)
def device_clusters(index: int) -> tuple[int, ...]:
    """For CUDA device ``index``: element ``s`` is how many clusters of ``s`` blocks of the Hopper
    kernel the GPU runs at once (all zero without the Hopper path), as the kernel will plan."""
    out = (ctypes.c_int * _CLUSTER_SIZES)()
    err = _load_library().mq_device_clusters(index, out)
    if err != 0:
        raise RuntimeError(f"could not query CUDA device {index} for cluster occupancy: {_load_library().mq_error_string(err).decode()}")
    return tuple(out)


def device_features(index: int) -> int:
    """The planner's feature flags for CUDA device ``index`` (``FEATURE_WGMMA`` where the GPU is
    sm_90 and the kernel library was built with sm_90a), as the kernel itself will plan."""
    flags = _load_library().mq_device_features(index)
    if flags < 0:
        raise RuntimeError(f"could not query CUDA device {index} for the Marlin kernel's features")
    return flags


_raw_stream = getattr(torch._C, "_cuda_getCurrentRawStream", None)


def _current_stream(index: int) -> int:
    """The current CUDA stream's handle on device ``index`` (without building a Stream object,
    a few microseconds of an eager call, where torch has the raw accessor)."""
    if _raw_stream is not None:
        return _raw_stream(index)
    return torch.cuda.current_stream(index).cuda_stream


def _launch(A: torch.Tensor, B: torch.Tensor, s: torch.Tensor, groupsize: int, workspace: torch.Tensor | None) -> torch.Tensor:
    m, n, k = A.shape[0], B.shape[1] // 2, A.shape[1]
    device = A.device
    index = device.index if device.index is not None else torch.cuda.current_device()
    sms, optin, per_sm, cc, features = _device_facts(index)
    if cc < (8, 0):
        raise KernelUnavailableError(
            f"the Marlin kernel needs compute capability 8.0 or newer (Ampere, Ada, Hopper); "
            f"{torch.cuda.get_device_name(device)} is {cc[0]}.{cc[1]}. Move the tensors to CPU for the reference path"
        )
    lib = _load_library()
    plan = plan_launch(m, n, k, sms, optin, per_sm, features, device_clusters(index) if features else (), groupsize)
    C = torch.empty((m, n), dtype=A.dtype, device=device)
    stream = _current_stream(index)
    # Inside a capture (where cudaMalloc is not allowed) partials are fresh tensors of the graph's
    # pool and tickets a graph slot (or, failing that, a fresh zeroed workspace).
    capturing = torch.cuda.is_current_stream_capturing()
    scratch = None if capturing else _stream_scratch(index, stream, sms)
    if _graph_slots_low and not capturing and index in _graph_slots_low:
        _reserve_graph_tickets(index)
    partials = None  # a fresh buffer, held until the launch is enqueued
    if not plan.partial_floats:
        partials_ptr = None
    elif scratch is not None and plan.partial_floats <= scratch[2]:
        partials_ptr = scratch[1]
    else:
        partials = torch.empty(plan.partial_floats, dtype=torch.float32, device=device)
        partials_ptr = partials.data_ptr()
    tickets, ticket_count = None, 0
    if plan.tickets:
        if workspace is not None:
            tickets, ticket_count = workspace.data_ptr(), workspace.numel()
            if ticket_count < plan.tickets:
                raise ValueError(
                    f"workspace has {ticket_count} entries but this product needs {plan.tickets}; "
                    "allocate it with marlin_quant.ops.make_workspace(device)"
                )
        elif scratch is not None:
            tickets, ticket_count = scratch[0], WORKSPACE_SIZE
        elif (slot := _graph_tickets(index, stream, plan.tickets)) is not None:
            tickets, ticket_count = slot
        else:
            fresh = make_workspace(device)  # held until the launch is enqueued
            tickets, ticket_count = fresh.data_ptr(), WORKSPACE_SIZE
    err = lib.mq_gemm(
        A.data_ptr(), B.data_ptr(), s.data_ptr(), C.data_ptr(),
        partials_ptr, plan.partial_floats,
        tickets, ticket_count,
        m, n, k, groupsize, optin, index, stream,
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


# The tickets in a workspace are zero before and after every call: no observable mutation.
@torch.library.custom_op("marlin_quant::gemm", mutates_args=())
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
        workspace: optional int32 tickets from :func:`make_workspace` (zero, left zero). Without
            one, the op keeps one per (device, stream) and one per captured CUDA graph, so
            concurrent streams and graphs are safe.

    Returns:
        C: fp16 (m, n) on A's device. CUDA tensors run the kernel, CPU tensors the reference.
    """
    _check_inputs(A, B, s, groupsize)
    _check_workspace(workspace, A.device)
    if _plain_eager_cuda(A):
        return _launch(A, B, s, groupsize, workspace)
    return torch.ops.marlin_quant.gemm(A, B, s, groupsize, workspace)


def _plain_eager_cuda(A: torch.Tensor) -> bool:
    """Whether a call may launch the kernel directly instead of through torch's dispatcher.

    The custom op's dispatch costs more host time than the rest of a call (about 10 of 13 us
    on a CPU tensor here), which an eager decode pays for every linear layer. Everything that
    must see the op still gets it: torch.compile and export tracing, fake and functional
    tensors (subclasses), dispatch and torch-function modes (FLOP counters, debug modes), the
    profiler (so traces show ``marlin_quant::gemm``), and autograd (through the op, a backward
    pass raises instead of meeting a silently detached result).
    """
    return (
        type(A) is torch.Tensor
        and A.is_cuda
        and not torch.compiler.is_compiling()
        and not (A.requires_grad and torch.is_grad_enabled())
        and not torch._C._is_torch_function_mode_enabled()
        and _get_current_dispatch_mode() is None
        and not torch.autograd._profiler_enabled()
    )
