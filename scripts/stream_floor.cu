// The floor under one weight-streaming launch: back-to-back launches of a kernel that only reads
// N bytes (no math, no split-k fixup), timed like scripts/bench_kernel.py (a CUDA graph of 60
// launches, buffers rotated past L2). What a layer of N bytes of 4-bit weights cannot beat with
// one launch per layer; the gap between it and the real kernel is what the kernel adds.
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a scripts/stream_floor.cu -o /tmp/floor
//   /tmp/floor [--per-sm N] [MB | KxN:C ...]   (default: 1 block per SM; 0 8.4 25.2 45.1 117.4
//                                               235 MB; prints us per launch)
//
// Variants: "plain" launches; "pdl" launches with programmatic dependent launch, each block
// signalling at its start and waiting for the previous launch only before its final write, so
// the reads of one launch may overlap the tail of the one before (the most PDL can give);
// "contract", PDL within what our kernels may do: a block requests only its first batch (8 x 16 B
// a thread, 32 KB) before griddepcontrol.wait and holds it in registers across the wait, reads
// 8 KB of activations after it (they may be the previous launch's output), then streams the
// rest; and it holds ~128 registers a thread, as the skinny kernel does, so an SM takes two
// blocks of 256 threads of any launches, and the next launch's blocks start only as these retire
// (at --per-sm 1 one of the next launch's blocks fits beside each of this one's). A layer given
// as KxN:C (k, n, chunks of 64 columns a skinny tile) adds "tiles": the contract on the skinny
// kernel's stream-K ranges over Marlin's layout instead of grid-stride, the same bytes.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "graph_timing.cuh"

// Each warp streams contiguous 512-byte rows (as the skinny kernel does), 8 loads in flight per
// thread (32 KB per block), 256 threads per block, N blocks per SM (the skinny kernel runs 2).
__global__ void __launch_bounds__(256) stream_kernel(const int4* __restrict__ src, long long n_vec, int* out, bool pdl) {
#if __CUDA_ARCH__ >= 900
  if (pdl) asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
  const long long stride = (long long)gridDim.x * blockDim.x;
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  int acc = 0;
  for (; i + 7 * stride < n_vec; i += 8 * stride) {
    int4 v[8];
#pragma unroll
    for (int j = 0; j < 8; j++)
      asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                   : "=r"(v[j].x), "=r"(v[j].y), "=r"(v[j].z), "=r"(v[j].w) : "l"(src + i + j * stride));
#pragma unroll
    for (int j = 0; j < 8; j++) acc ^= v[j].x ^ v[j].y ^ v[j].z ^ v[j].w;
  }
  for (; i < n_vec; i += stride) {
    int4 v = src[i];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
#if __CUDA_ARCH__ >= 900
  if (pdl) asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  if (acc == 0x7f3a5c1d) out[blockIdx.x] = acc;  // keeps the loads; practically never taken
}

// Where a contract block's loads go: grid-stride (a block's loads 4 KB x blocks apart, so the
// whole GPU sweeps the buffer front to back), or (unit_vec > 0) the skinny kernel's stream-K
// ranges: the weights are rows of 8n bytes (16 k each, Marlin's layout), a unit is one tile's
// piece of a row (512 bytes a 64-column chunk), units run (tile, row) with the row fastest, and
// each block reads a contiguous range of upb units, as plan_skinny deals them.
struct Ranges {
  long long rows = 0, row_vec = 0;  // k / 16, and a row's int4 (n / 2)
  int unit_vec = 0;                 // a unit's int4: 32 a chunk; 0 for grid-stride
  long long upb = 0, total = 0;     // units a block, units in all
};

// The "contract" variant (see the header). `pad` registers are per-lane clock reads made before
// the wait (which ptxas cannot recompute) and added after it, so they stay live across it; with
// the batch they take the kernel to about the skinny kernel's 128 registers (ptxas -v: 120 and
// 128 for the two variants; three blocks of 256 threads need at most 85; tests/test_stream_floor.py
// checks the counts).
constexpr int kContractPad = 80;
template <bool TILES>
__global__ void __launch_bounds__(256, 2) contract_kernel(const int4* __restrict__ src, long long n_vec, Ranges r,
                                                          const int4* __restrict__ act, int act_vec, int* out) {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
  // This thread's cursor, one load a 4 KB round of the block: `pos` counts what is left to read
  // against `left` (units of the block's range, or int4 of the buffer), `ptr` is the address.
  long long pos, left, ptr;
  const long long step = (long long)gridDim.x * blockDim.x;
  int row = 0, upr = 0;  // TILES: the unit's row, units a round
  if (TILES) {
    upr = blockDim.x / r.unit_vec;
    pos = threadIdx.x / r.unit_vec;
    const long long first = blockIdx.x * r.upb;
    left = r.total - first < r.upb ? r.total - first : r.upb;
    const long long u = first + pos;
    row = (int)(u % r.rows);
    ptr = row * r.row_vec + u / r.rows * r.unit_vec + threadIdx.x % r.unit_vec;
  } else {
    pos = ptr = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    left = n_vec;
  }
  auto next = [&]() {
    if (TILES) {
      pos += upr;
      row += upr;
      ptr += upr * r.row_vec;
      if (row >= r.rows) {  // on to the next tile's first rows
        row -= (int)r.rows;
        ptr += r.unit_vec - r.rows * r.row_vec;
      }
    } else {
      pos += step;
      ptr += step;
    }
  };
  int4 v[8];
#pragma unroll
  for (int j = 0; j < 8; j++) {
    v[j] = make_int4(0, 0, 0, 0);
    if (pos < left)
      asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                   : "=r"(v[j].x), "=r"(v[j].y), "=r"(v[j].z), "=r"(v[j].w) : "l"(src + ptr));
    next();
  }
  unsigned pad[kContractPad];
#pragma unroll
  for (int j = 0; j < kContractPad; j++)
    asm volatile("{ .reg .u32 t; mov.u32 t, %%clock; mov.u32 %0, %%laneid; xor.b32 %0, %0, t; }" : "=r"(pad[j]));
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  int acc = 0;
#pragma unroll
  for (int j = 0; j < kContractPad; j++) asm volatile("add.s32 %0, %0, %1;" : "+r"(acc) : "r"(pad[j]));
  for (int a = threadIdx.x; a < act_vec; a += blockDim.x) {
    const int4 x = __ldcg(act + a);
    acc ^= x.x ^ x.w;
  }
#pragma unroll
  for (int j = 0; j < 8; j++) acc ^= v[j].x ^ v[j].y ^ v[j].z ^ v[j].w;
  while (pos < left) {
#pragma unroll
    for (int j = 0; j < 8; j++) {
      if (pos < left)
        asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                     : "=r"(v[j].x), "=r"(v[j].y), "=r"(v[j].z), "=r"(v[j].w) : "l"(src + ptr));
      next();
    }
#pragma unroll
    for (int j = 0; j < 8; j++) acc ^= v[j].x ^ v[j].y ^ v[j].z ^ v[j].w;
  }
  if (acc == 0x7f3a5c1d) out[blockIdx.x] = acc;
}

// One size to time: MB of weights, or a layer "KxN:C" (k, n, chunks of 64 columns a tile), which
// also times the contract variant on the skinny kernel's stream-K ranges.
struct Size {
  long long bytes = 0;
  int k = 0, n = 0, chunks = 0;
};

// A layer spec, or false if `arg` is not one: k a multiple of 64 (at least 256), C in {2, 4, 8}
// and n a multiple of C x 64 (whole tiles, so that no tile's piece of a row runs past it).
bool parse_layer(const char* arg, Size* sz) {
  int k = 0, n = 0, c = 0;
  char tail = 0;
  if (std::sscanf(arg, "%dx%d:%d%c", &k, &n, &c, &tail) != 3) return false;
  if (c != 2 && c != 4 && c != 8) return false;
  if (k < 256 || k % 64 || n < 64 * c || n % (64 * c)) return false;
  sz->k = k;
  sz->n = n;
  sz->chunks = c;
  sz->bytes = (long long)k * n / 2;
  return true;
}

// plan_skinny's ranges (csrc/marlin_kernel.cu, range_stripes): ceil(total / blocks) units a block,
// at least 16, rounded up to a multiple of 8.
Ranges skinny_ranges(const Size& sz, long long blocks, int* grid) {
  Ranges r;
  r.rows = sz.k / 16;
  r.row_vec = (long long)sz.n / 2;
  r.unit_vec = 32 * sz.chunks;
  const long long tiles = (sz.n / 64 + sz.chunks - 1) / sz.chunks;
  r.total = tiles * r.rows;
  long long upb = (r.total + blocks - 1) / blocks;
  if (upb < 16) upb = 16;
  r.upb = (upb + 7) / 8 * 8;
  *grid = (int)((r.total + r.upb - 1) / r.upb);
  return r;
}

int main(int argc, char** argv) {
  const char* usage =
      "usage: floor [--per-sm N] [MB | KxN:C ...]; --per-sm takes 1 to 8 blocks per SM; KxN:C is a layer (k a "
      "multiple of 64, k >= 256) with C = 2, 4 or 8 chunks of 64 columns a tile, n a multiple of C x 64\n";
  std::vector<Size> sizes;
  for (double mb : {0.0, 8.4, 25.2, 45.1, 117.4, 235.0}) sizes.push_back({((long long)(mb * 1e6) + 15) / 16 * 16});
  int per_sm = 1, first = 1;
  if (argc > 1 && std::string(argv[1]) == "--per-sm") {
    per_sm = argc > 2 ? std::atoi(argv[2]) : 0;
    first = 3;
    if (per_sm < 1 || per_sm > 8) {
      std::fprintf(stderr, "%s", usage);
      return 2;
    }
  }
  if (argc > first) {
    sizes.clear();
    for (int a = first; a < argc; a++) {
      Size sz;
      char* end = nullptr;
      const double mb = std::strtod(argv[a], &end);
      if (parse_layer(argv[a], &sz)) {
      } else if (end != argv[a] && *end == 0 && mb >= 0) {
        sz.bytes = ((long long)(mb * 1e6) + 15) / 16 * 16;
      } else {
        std::fprintf(stderr, "floor: bad size '%s'\n%s", argv[a], usage);
        return 2;
      }
      sizes.push_back(sz);
    }
  }
  int dev = 0, sms = 0, l2 = 0;
  CHECK(cudaGetDevice(&dev));
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
  int* out;
  CHECK(cudaMalloc(&out, sizeof(int) * 65536));
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  std::printf("%d block(s) of 256 threads per SM\n", per_sm);
  int4* act;  // the contract variant's activations: 8 KB, as k = 4096 at m = 1
  const int act_vec = 8192 / 16;
  CHECK(cudaMalloc(&act, act_vec * sizeof(int4)));
  CHECK(cudaMemset(act, 2, act_vec * sizeof(int4)));
  std::printf("%16s %8s %10s %10s %10s %10s   %s\n", "size", "MB", "plain us", "pdl us", "contract", "tiles",
              "TB/s (plain, pdl, contract, tiles)");
  for (const Size& sz : sizes) {
    const long long bytes = sz.bytes;
    const long long n_vec = bytes / 16;
    const int copies = bytes > 0 ? (int)((4LL * l2 + bytes - 1) / bytes) + 1 : 1;
    std::vector<int4*> bufs(copies, nullptr);
    for (auto& b : bufs) {
      CHECK(cudaMalloc(&b, bytes > 0 ? bytes : 16));
      CHECK(cudaMemset(b, 1, bytes > 0 ? bytes : 16));
    }
    int tile_grid = 0;
    const Ranges tiles = sz.chunks ? skinny_ranges(sz, (long long)sms * per_sm, &tile_grid) : Ranges();
    double us[4] = {0, 0, 0, 0};
    for (int variant = 0; variant < (sz.chunks ? 4 : 3); variant++) {
      const bool pdl = variant >= 1;
      us[variant] = graph_us_per_launch(stream, 60, [&](int l) {
        cudaLaunchConfig_t cfg = {};
        cfg.gridDim = dim3(variant == 3 ? tile_grid : sms * per_sm);
        cfg.blockDim = dim3(256);
        cfg.stream = stream;
        cudaLaunchAttribute attr[1];
        attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[0].val.programmaticStreamSerializationAllowed = 1;
        cfg.attrs = attr;
        cfg.numAttrs = pdl ? 1 : 0;
        const int4* src = bufs[l % copies];
        if (variant == 3)
          CHECK(cudaLaunchKernelEx(&cfg, contract_kernel<true>, src, n_vec, tiles, (const int4*)act, act_vec, out));
        else if (variant == 2)
          CHECK(cudaLaunchKernelEx(&cfg, contract_kernel<false>, src, n_vec, Ranges(), (const int4*)act, act_vec, out));
        else
          CHECK(cudaLaunchKernelEx(&cfg, stream_kernel, src, n_vec, out, pdl));
      });
    }
    char name[64], tiles_us[32];
    if (sz.chunks) {
      std::snprintf(name, sizeof name, "%dx%d:%d", sz.k, sz.n, sz.chunks);
      std::snprintf(tiles_us, sizeof tiles_us, "%.2f", us[3]);
    } else {
      std::snprintf(name, sizeof name, "-");
      std::snprintf(tiles_us, sizeof tiles_us, "-");
    }
    std::printf("%16s %8.1f %10.2f %10.2f %10.2f %10s   %.2f %.2f %.2f", name, bytes / 1e6, us[0], us[1], us[2], tiles_us,
                bytes / us[0] / 1e6, bytes / us[1] / 1e6, bytes / us[2] / 1e6);
    if (sz.chunks) std::printf(" %.2f (%d blocks of %lld units)", bytes / us[3] / 1e6, tile_grid, tiles.upb);
    std::printf("\n");
    for (auto& b : bufs) CHECK(cudaFree(b));
  }
  return 0;
}
