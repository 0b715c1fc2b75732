// marlin-quant: FP16 x INT4 matrix multiply, C = A @ dequant(B, s).
//
// Depends on nothing but CUDA (no torch, no Python): the C ABI at the bottom is the whole
// interface, so the file can be embedded anywhere. marlin_quant/ops.py is its torch binding.
//
// Layout (see marlin_quant/packing.py): B is int32 (k/16, 2n); each row is one 16-row stripe of
// the weight, 64 columns (4 tiles of 16x16) = 128 int32 = 512 bytes, where lane i of a warp
// reads the 16 bytes at 16*i and finds, per tile, the 8 codes of its two m16n8k16 B fragments.
//
// Three kernels share that layout: the skinny one (m <= 8, decoding; see "Skinny path" below)
// streams the weights through registers, the tiled one (larger m, below) stages weights and
// activations in shared memory and reuses each weight tile for up to 64 rows of A, and on sm_90a
// the Hopper one (m >= 33, "Hopper path") runs the same tiles on warpgroup MMAs.
//
// Tiled work decomposition (stream-K). An output tile is (16*MB rows) x (64*WN columns): WN warps
// side by side along n (64 columns each) and WK warps splitting each stage's stripes along k,
// summed through shared memory when a tile segment ends. Tiles are 512 columns wide (8 x 1
// warps) unless that leaves too few tiles for the SMs, then 256 (4 x 2) or 128 (2 x 4). The k
// loop of a tile is cut into iterations of KS stripes (16-32 KB of weights). All iterations of
// all tiles, k fastest, are dealt out in equal contiguous ranges to one resident thread block
// per SM: every SM streams the same number of weight bytes whatever the shape, through a deep
// cp.async pipeline (3-6 stages) that runs on across tile boundaries. A tile finished by one
// block is written directly; a tile shared by several blocks is summed by the one whose range
// holds its first iteration (see finish_tile) from the others' fp32 partials, in range order, so
// results are deterministic, and the tile's count is re-armed to zero for the next call.

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>
#ifdef MQ_EXPERIMENT
#include <stdio.h>
#include <stdlib.h>
#endif

#include <atomic>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <vector>

namespace mq {

struct Params {
  const int4* A;    // (m, k) fp16
  const int4* B;    // (k/16, 2n) int32
  const int4* s;    // (groups, n) fp16, permuted
  half* C;          // (m, n) fp16
  float* partials;  // (blocks, MT * TN) fp32: one per range, for tiles shared between blocks
  int* counters;    // one count per tile (the ticket workspace), zero between calls
  int m, n, k, groupsize;
  int g_shift;                      // log2(groupsize) (grouped scales only)
  int m_chunks, n_slices, k_iters;  // tiles = m_chunks * n_slices; iterations per tile
  int blocks;                       // grid size
  int upb;                          // iterations per range: range r has [r * upb, (r + 1) * upb)
  long long total_iters;            // tiles * k_iters (below 2^31 whenever a tile is shared)
#ifdef MQ_TRACE
  int trace_id;
#endif
};

// KS: 16-row stripes per iteration (a stage of 16-32 KB of weights where shared memory allows
// amortises the loop, barrier and address arithmetic; less on small-smem GPUs).
// WN warps side by side along n (a tile is 64 * WN columns), WK warps splitting each stage's
// stripes along k. Narrow tiles (WN = 2, 4) keep the number of blocks that share a tile, and so
// the split-k partials one block must sum, small when n is narrow (4096 columns are 8 tiles of
// 512 for 132 SMs: 16 blocks per tile, whose partials cost as much as the whole weight stream).
template <int MB, int KS, int STAGES, int WN, int WK>
struct Tile {
  static constexpr int NT = 32 * WN * WK;        // threads
  static constexpr int BT = 32 * WN;             // threads that copy one stripe of B (16 B each)
  static constexpr int TN = 64 * WN;             // output columns per tile
  static constexpr int SV = TN / 8;              // int4 per scale row of a tile
  static constexpr int MT = 16 * MB;
  static constexpr int TK = 16 * KS;             // k rows per iteration
  static constexpr int A_ROW = TK / 8;           // int4 per A row of a stage
  static constexpr int A_VEC = MT * A_ROW;       // int4 per stage of A
  static constexpr int B_VEC = KS * TN / 2;      // int4 per stage of B
  static constexpr int S_ROWS = TK / 32;         // most scale rows one stage can touch
  static constexpr int S_VEC = S_ROWS * SV;
  static constexpr int STAGE_VEC = A_VEC + B_VEC + S_VEC;
  static constexpr int PIPE_BYTES = STAGES * STAGE_VEC * 16;
  static constexpr int PARTIAL = MT * TN;        // floats per partial tile
  // With WK > 1 k-warps per column group, k-warps 1.. hand their accumulators to k-warp 0, one
  // at a time, through this buffer at the end of every tile segment: the stage just consumed
  // when it is large enough (its next load is issued after the next barrier), else its own.
  static constexpr int RED_FLOATS = WK > 1 ? WN * MB * 32 * 32 : 0;
  static constexpr bool RED_IN_STAGE = RED_FLOATS * 4 <= STAGE_VEC * 16;
  static constexpr int SMEM_BYTES = PIPE_BYTES + (RED_IN_STAGE ? 0 : RED_FLOATS * 4);
  static_assert(KS % WK == 0, "every k-warp takes the same number of stripes");
  static_assert(SV * S_ROWS <= NT, "one pass of the threads copies a stage's scales");
};

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy; valid == false fills the destination with zeros and reads nothing.
__device__ __forceinline__ void cp_async16_s(uint32_t dst, const void* src, bool valid) {
  int n = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(n));
}
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) { cp_async16_s(smem_addr(dst), src, valid); }
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// Programmatic dependent launch hooks; no-ops before sm_90 or when launched without the
// attribute (then the previous kernel has finished before this one starts).
__device__ __forceinline__ void grid_dependency_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void grid_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Split-k fixup handshake: a contributor counts itself in after its partial (release, no round
// trip); the summer waits until `others` have (acquire), then re-arms the count for the next call.
__device__ __forceinline__ void count_in(int* counter) {
  asm volatile("red.release.gpu.global.add.s32 [%0], 1;\n" ::"l"(counter) : "memory");
}
__device__ __forceinline__ void wait_count(const int* counter, int others) {
  int seen;
  do {
    asm volatile("ld.acquire.gpu.global.s32 %0, [%1];\n" : "=r"(seen) : "l"(counter) : "memory");
  } while (seen != others);
}

// Split-k summers (skinny and Hopper): the warp's lanes poll the flags of ranges ready + 1 ..
// ready + 32 (acquire) until every range up to `need` has stored its partial; returns the last
// range of the flagged prefix seen (at most `last`). Warp-uniform; the warp barrier passes the
// acquire on to every lane's partial loads after it.
__device__ __forceinline__ int flags_seen(const int* flags, int ready, int need, int last, int lane) {
  while (ready < need) {
    const int r = ready + 1 + lane;
    int f = 1;
    if (r <= last) asm volatile("ld.acquire.gpu.global.s32 %0, [%1];\n" : "=r"(f) : "l"(flags + r) : "memory");
    const unsigned set = __ballot_sync(0xffffffffu, f != 0);
    ready += set == 0xffffffffu ? 32 : __ffs(~set) - 1;
    if (ready > last) ready = last;
  }
  __syncwarp();
  return ready;
}
// Re-arms the flags of ranges range + 1 .. last for the next call, thread `i` of `n` taking every
// n-th, once every reader has seen them.
__device__ __forceinline__ void rearm_flags(int* flags, int range, int last, int i, int n) {
  for (int r = range + 1 + i; r <= last; r += n) flags[r] = 0;
}
// A summer's warp 0 waiting for all of ranges range + 1 .. last, then re-arming them (a block
// barrier after it passes both on).
__device__ __forceinline__ void flags_seen_all(int* flags, int range, int last, int lane) {
  flags_seen(flags, range, last, last, lane);
  rearm_flags(flags, range, last, lane, 32);
}

// Diagnostic timeline (-DMQ_TRACE only; never in a release build): thread 0 of every block
// stamps %globaltimer at fixed points of the launch, so scripts/trace_launches.py can show where
// a launch's time goes between its first block's start and the next launch's release.
#ifdef MQ_TRACE
constexpr int kTraceLaunches = 64, kTraceBlocks = 1024, kTraceSlots = 10;
__device__ unsigned long long mq_trace_buf[kTraceLaunches][kTraceBlocks][kTraceSlots];
__device__ __forceinline__ void trace_mark(int id, int slot) {
  if (threadIdx.x != 0 || blockIdx.x >= kTraceBlocks) return;
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  unsigned int sm;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
  mq_trace_buf[id % kTraceLaunches][blockIdx.x][slot] = t;
  mq_trace_buf[id % kTraceLaunches][blockIdx.x][7] = sm;
}
#define MQ_TRACE_MARK(slot) trace_mark(p.trace_id, slot)
#else
#define MQ_TRACE_MARK(slot) ((void)0)
#endif

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <int LUT>
__device__ __forceinline__ uint32_t lop3(uint32_t a, uint32_t b, uint32_t c) {
  uint32_t d;
  asm("lop3.b32 %0, %1, %2, %3, %4;\n" : "=r"(d) : "r"(a), "r"(b), "r"(c), "n"(LUT));
  return d;
}

__device__ __forceinline__ half2 as_half2(uint32_t x) { return *reinterpret_cast<half2*>(&x); }
__device__ __forceinline__ uint32_t as_u32(half2 x) { return *reinterpret_cast<uint32_t*>(&x); }

// One int32 of 8 interleaved codes -> the B fragments (b0, b1) of the tile's left 8 columns and
// of its right 8 columns, as fp16 (code - 8). A nibble placed in the mantissa of 1024.0
// (0x6400) reads as 1024 + code exactly; one subtract (or an fma for the nibble 4 bits up)
// removes the bias, with no integer-to-float conversion.
__device__ __forceinline__ void dequant8(uint32_t q, uint32_t (&left)[2], uint32_t (&right)[2]) {
  constexpr uint32_t LO = 0x000f000f, HI = 0x00f000f0, EX = 0x64006400;
  constexpr int AND_OR = (0xf0 & 0xcc) | 0xaa;
  const half2 sub = as_half2(0x64086408u);  // 1032 = 1024 + 8
  const half2 mul = as_half2(0x2c002c00u);  // 1 / 16
  const half2 add = as_half2(0xd480d480u);  // -72 = -(64 + 8)
  uint32_t lo0 = lop3<AND_OR>(q, LO, EX);
  uint32_t hi0 = lop3<AND_OR>(q, HI, EX);
  q >>= 8;
  uint32_t lo1 = lop3<AND_OR>(q, LO, EX);
  uint32_t hi1 = lop3<AND_OR>(q, HI, EX);
  left[0] = as_u32(__hsub2(as_half2(lo0), sub));
  left[1] = as_u32(__hfma2(as_half2(hi0), mul, add));
  right[0] = as_u32(__hsub2(as_half2(lo1), sub));
  right[1] = as_u32(__hfma2(as_half2(hi1), mul, add));
}

// Grouped scales before the MMA, in fp16: `left` times the low half of `pair`, `right` times
// the high half.
__device__ __forceinline__ void scale_halves(uint32_t (&left)[2], uint32_t (&right)[2], uint32_t pair) {
  const half2 sp = as_half2(pair);
  const half2 sl = __low2half2(sp), sr = __high2half2(sp);
  left[0] = as_u32(__hmul2(as_half2(left[0]), sl));
  left[1] = as_u32(__hmul2(as_half2(left[1]), sl));
  right[0] = as_u32(__hmul2(as_half2(right[0]), sr));
  right[1] = as_u32(__hmul2(as_half2(right[1]), sr));
}

// Per-channel scales of the 16 output columns (8 n8 sub-tiles x 2) one lane holds.
__device__ __forceinline__ void load_channel_scales(const Params& p, int wcol0, int lane, float2 (&pcs)[8]) {
  const half* sg = reinterpret_cast<const half*>(p.s) + wcol0;
#pragma unroll
  for (int run = 0; run < 2; run++) {
    int4 v = __ldg(reinterpret_cast<const int4*>(sg + 32 * run + 8 * (lane & 3)));
    const uint32_t w4[4] = {(uint32_t)v.x, (uint32_t)v.y, (uint32_t)v.z, (uint32_t)v.w};
#pragma unroll
    for (int a = 0; a < 4; a++) pcs[4 * run + a] = __half22float2(as_half2(w4[a]));
  }
}

template <int MB, int KS, int STAGES, int WN, int WK, bool PER_CHANNEL>
__global__ void __launch_bounds__(32 * WN * WK, 1) marlin_gemm_kernel(const Params p) {
  using T = Tile<MB, KS, STAGES, WN, WK>;
  constexpr int NT = T::NT;
  constexpr int TN = T::TN;
  constexpr int kTK = T::TK;
  extern __shared__ int4 smem[];
  MQ_TRACE_MARK(0);

  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int wn = warp % WN;  // which 64-column group of the tile
  const int wk = warp / WN;  // which share of each stage's stripes (j % WK == wk)
  const int btid = tid % T::BT;

  // Ranges run in reverse block order: range r = blocks - 1 - blockIdx.x. The range that holds a
  // shared tile's first iteration ends in it and sums it (see finish_tile); every other range
  // in that tile then has a lower block index, so the summer only ever waits for blocks that
  // were dispatched before it.
  const int range = p.blocks - 1 - (int)blockIdx.x;
  const long long it_begin = (long long)range * p.upb;
  const long long it_end = min(it_begin + p.upb, p.total_iters);
  const int n_iters = (int)(it_end - it_begin);
  const int first_tile = (int)(it_begin / p.k_iters);

  const int n_vec_B = p.n / 2;  // int4 per B row (8n bytes)
  const int n_vec_s = p.n / 8;  // int4 per scale row
  const int k_vec_A = p.k / 8;  // int4 per A row
  const int groups = PER_CHANNEL ? 1 : p.k / p.groupsize;

  // Tiles run chunk-fastest so that blocks sharing a weight slice run together (L2 reuse).
  auto tile_coords = [&](int tile, int& row0, int& col0) {
    row0 = (tile % p.m_chunks) * T::MT;
    col0 = (tile / p.m_chunks) * TN;
  };

  // Loads walk the iteration space incrementally: per-thread source pointers are set when a
  // tile starts and advance by a fixed stride per iteration (no divisions, little arithmetic).
  // Each thread copies fixed positions of every stage: A vectors tid + 256 * rep, B vector tid
  // of every stripe, and scale vector tid when tid < 64 * rows.
  const int k_stripes = p.k / 16;
  int ld_tile = first_tile, ld_kit = (int)(it_begin - (long long)first_tile * p.k_iters);
  const int s_rows = PER_CHANNEL ? 0 : (p.groupsize <= kTK ? kTK >> p.g_shift : 1);
  constexpr int A_REPS = (T::A_VEC + NT - 1) / NT;
  const int4* a_src[A_REPS];
  bool a_ok[A_REPS];
  const int4* b_src;
  bool b_ok;
  const int4* s_src;
  bool s_col_ok;
  auto start_tile_loads = [&]() {
    int row0, col0;
    tile_coords(ld_tile, row0, col0);
#pragma unroll
    for (int rep = 0; rep < A_REPS; rep++) {
      int i = tid + rep * NT;
      int grow = row0 + i / T::A_ROW;
      a_ok[rep] = i < T::A_VEC && grow < p.m;
      a_src[rep] = p.A + (a_ok[rep] ? (long long)grow * k_vec_A + ld_kit * T::A_ROW + i % T::A_ROW : 0);
    }
    b_ok = col0 + 64 * (btid >> 5) < p.n;
    b_src = p.B + (b_ok ? (long long)ld_kit * KS * n_vec_B + col0 / 2 + btid : 0);
    s_col_ok = col0 + 8 * (tid % T::SV) < p.n;
    s_src = p.s + (s_col_ok ? col0 / 8 + tid % T::SV : 0);
  };
  start_tile_loads();

  // One stage: A (do_a), B and scales (do_bs); every pointer advances either way.
  auto load_next = [&](int buf, bool do_a, bool do_bs) {
    int4* sA = smem + buf * T::STAGE_VEC;
    int4* sB = sA + T::A_VEC;
    int4* sS = sB + T::B_VEC;
    // Only the last iteration of a tile can be short (k is a multiple of 64, not of TK).
    const int stripes = min(KS, k_stripes - ld_kit * KS);
#pragma unroll
    for (int rep = 0; rep < A_REPS; rep++) {
      int i = tid + rep * NT;
      if (i < T::A_VEC) {
        int r = i / T::A_ROW, c = i % T::A_ROW;
        bool ok = a_ok[rep] && c < 2 * stripes;
        if (do_a) cp_async16(sA + r * T::A_ROW + (c ^ (r & 7)), ok ? a_src[rep] : p.A, ok);
        a_src[rep] += T::A_ROW;
      }
    }
#pragma unroll
    for (int rep = 0; rep < KS / WK; rep++) {
      int r = rep * WK + tid / T::BT;
      bool ok = b_ok && r < stripes;
      if (do_bs) cp_async16(sB + r * T::BT + btid, ok ? b_src + r * n_vec_B : p.B, ok);
    }
    b_src += KS * n_vec_B;
    if (do_bs && !PER_CHANNEL && tid < T::SV * s_rows) {
      int grow = ((ld_kit * kTK) >> p.g_shift) + tid / T::SV;
      bool ok = s_col_ok && grow < groups;
      cp_async16(sS + tid, ok ? s_src + (long long)grow * n_vec_s : p.s, ok);
    }
    if (++ld_kit == p.k_iters) {
      ld_kit = 0;
      ld_tile++;
      start_tile_loads();
    }
  };

  float acc[MB][8][4];
  auto zero_acc = [&]() {
#pragma unroll
    for (int a = 0; a < MB; a++)
#pragma unroll
      for (int b = 0; b < 8; b++)
#pragma unroll
        for (int c = 0; c < 4; c++) acc[a][b][c] = 0.f;
  };
  zero_acc();

  auto compute_iter = [&](int buf, int kit) {
    const int valid = min(KS, k_stripes - kit * KS);
    const int4* sA = smem + buf * T::STAGE_VEC;
    const int4* sB = sA + T::A_VEC;
    const int4* sS = sB + T::B_VEC;
    constexpr int MINE = KS / WK;  // stripes of this stage that this warp multiplies
    int4 bq[MINE];
#pragma unroll
    for (int jj = 0; jj < MINE; jj++) bq[jj] = sB[(wk + WK * jj) * (TN / 2) + wn * 32 + lane];
    int4 sv[MINE];
    if (!PER_CHANNEL) {
#pragma unroll
      for (int jj = 0; jj < MINE; jj++) {
        int srow = (wk + WK * jj) >> (p.g_shift - 4);  // 16 j / groupsize; 0 when a group spans the stage
        sv[jj] = sS[srow * T::SV + wn * 8 + lane / 4];
      }
    }
#pragma unroll
    for (int jj = 0; jj < MINE; jj++) {
      const int j = wk + WK * jj;
      if (j >= valid) break;
      uint32_t af[MB][4];
#pragma unroll
      for (int mb = 0; mb < MB; mb++) {
        int r = 16 * mb + (lane & 15);
        int c = 2 * j + (lane >> 4);
        ldmatrix_x4(af[mb], sA + r * T::A_ROW + (c ^ (r & 7)));
      }
      const uint32_t q[4] = {(uint32_t)bq[jj].x, (uint32_t)bq[jj].y, (uint32_t)bq[jj].z, (uint32_t)bq[jj].w};
      const uint32_t sc[4] = {(uint32_t)sv[jj].x, (uint32_t)sv[jj].y, (uint32_t)sv[jj].z, (uint32_t)sv[jj].w};
#pragma unroll
      for (int t = 0; t < 4; t++) {
        uint32_t left[2], right[2];
        dequant8(q[t], left, right);
        if (!PER_CHANNEL) {
          scale_halves(left, right, sc[t]);  // (scale of sub-tile 2t, scale of sub-tile 2t + 1)
        }
#pragma unroll
        for (int mb = 0; mb < MB; mb++) {
          mma_16816(acc[mb][2 * t], af[mb], left[0], left[1]);
          mma_16816(acc[mb][2 * t + 1], af[mb], right[0], right[1]);
        }
      }
    }
  };

  // Write this warp's accumulators of `tile` as fp16 C (with per-channel scales).
  auto write_c = [&](int row0, int col0) {
    const int wcol0 = col0 + wn * 64;
    if (wcol0 >= p.n) return;
    float2 pcs[8];
    if (PER_CHANNEL) load_channel_scales(p, wcol0, lane, pcs);
#pragma unroll
    for (int mb = 0; mb < MB; mb++) {
#pragma unroll
      for (int h = 0; h < 2; h++) {
        int row = row0 + 16 * mb + (lane >> 2) + 8 * h;
        if (row >= p.m) continue;
        half* crow = p.C + (long long)row * p.n + wcol0 + 2 * (lane & 3);
#pragma unroll
        for (int u = 0; u < 8; u++) {
          float x = acc[mb][u][2 * h], y = acc[mb][u][2 * h + 1];
          if (PER_CHANNEL) { x *= pcs[u].x; y *= pcs[u].y; }
          *reinterpret_cast<half2*>(crow + 8 * u) = __floats2half2_rn(x, y);
        }
      }
    }
  };

  // Partials are stored in fragment order (one float4 per lane per (mb, u)): fully coalesced.
  // One per range (only a range's first segment can be a non-summing share of a tile).
  auto partial_of = [&](int r) { return p.partials + (long long)r * T::PARTIAL; };
  auto frag_index = [&](int mb, int u) { return ((wn * MB + mb) * 8 + u) * 32 + lane; };

  // A tile segment ended. Alone: write C. Shared: the segment holding the tile's first iteration
  // (the end of its range: it finishes last) is the summer; every other contributor stores an
  // fp32 partial and counts itself in (red.release: no round trip to wait for). The summer
  // waits for the count, adds the partials to its own registers in range order (deterministic)
  // and writes C; the count is re-armed to zero for the next call.
  auto finish_tile = [&](int tile, int kit_begin, int kit_end, int buf) {
    int row0, col0;
    tile_coords(tile, row0, col0);
    if (WK > 1) {
      // k-warps 1 .. WK-1 hand their sums to k-warp 0 one at a time, in order (deterministic).
      float* red = reinterpret_cast<float*>(smem + (T::RED_IN_STAGE ? buf : STAGES) * T::STAGE_VEC);
      if (T::RED_IN_STAGE) __syncthreads();  // every warp is done reading stage `buf`
#pragma unroll 1
      for (int w = 1; w < WK; w++) {
        if (wk == w) {
#pragma unroll
          for (int mb = 0; mb < MB; mb++)
#pragma unroll
            for (int u = 0; u < 8; u++)
#pragma unroll
              for (int v = 0; v < 4; v++) red[((wn * MB + mb) * 32 + u * 4 + v) * 32 + lane] = acc[mb][u][v];
        }
        __syncthreads();
        if (wk == 0) {
#pragma unroll
          for (int mb = 0; mb < MB; mb++)
#pragma unroll
            for (int u = 0; u < 8; u++)
#pragma unroll
              for (int v = 0; v < 4; v++) acc[mb][u][v] += red[((wn * MB + mb) * 32 + u * 4 + v) * 32 + lane];
        }
        if (w + 1 < WK) __syncthreads();
      }
    }
    if (kit_begin == 0 && kit_end == p.k_iters) {
      if (wk == 0) write_c(row0, col0);
      return;
    }
    // Lanes whose rows are all past m have nothing to publish (m = 1 writes 1/8 of the tile).
    const int rows_left = p.m - row0;
    if (kit_begin > 0) {
      // A range that starts inside the tile: its first segment, one partial per range.
      float4* mine = reinterpret_cast<float4*>(partial_of(range));
#pragma unroll
      for (int mb = 0; mb < MB; mb++)
        if (wk == 0 && 16 * mb + (lane >> 2) < rows_left)
#pragma unroll
          for (int u = 0; u < 8; u++)
            __stcg(mine + frag_index(mb, u), make_float4(acc[mb][u][0], acc[mb][u][1], acc[mb][u][2], acc[mb][u][3]));
      // No __threadfence here: it compiles to MEMBAR.SC.GPU. The barrier orders the block's
      // stores before thread 0, whose release publishes them (release is cumulative).
      __syncthreads();
      if (tid == 0) count_in(p.counters + tile);
      return;
    }
    // The summer. Ranges range + 1 .. last hold the rest of the tile (32-bit division: a shared
    // tile means stream-K, whose iteration count the planner keeps below 2^31).
    const int last = (tile * p.k_iters + p.k_iters - 1) / p.upb;
    if (tid == 0) {
      wait_count(p.counters + tile, last - range);
      MQ_TRACE_MARK(4);
      p.counters[tile] = 0;
    }
    __syncthreads();
    if (wk != 0) return;
    // Unrolled so that several contributors' loads are in flight at once.
#pragma unroll 4
    for (int r = range + 1; r <= last; r++) {
      const float4* part = reinterpret_cast<const float4*>(partial_of(r));
#pragma unroll
      for (int mb = 0; mb < MB; mb++)
        if (16 * mb + (lane >> 2) < rows_left)
#pragma unroll
        for (int u = 0; u < 8; u++) {
          float4 v = __ldcg(part + frag_index(mb, u));
          acc[mb][u][0] += v.x; acc[mb][u][1] += v.y; acc[mb][u][2] += v.z; acc[mb][u][3] += v.w;
        }
    }
    write_c(row0, col0);
  };

  // ---- the pipeline, continuous across tile boundaries ----
  // Programmatic dependent launch (sm_90): weights and scales never depend on the kernel before
  // this one, so the first stages' are requested before griddepcontrol.wait (they join the first
  // commit group); A (its output, possibly) and every write wait for it to finish.
  {
    const int tile0 = ld_tile, kit0 = ld_kit;
#pragma unroll
    for (int i = 0; i < STAGES - 1; i++)
      if (i < n_iters) load_next(i, false, true);
    ld_tile = tile0;
    ld_kit = kit0;
    start_tile_loads();
  }
  grid_dependency_wait();
  MQ_TRACE_MARK(1);
  grid_launch_dependents();
#pragma unroll
  for (int i = 0; i < STAGES - 1; i++) {
    if (i < n_iters) load_next(i, true, false);
    cp_async_commit();
  }
  int tile = first_tile;
  int kit = (int)(it_begin - (long long)first_tile * p.k_iters);
  int seg_begin = kit;
  for (int i = 0; i < n_iters; i++) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();
#ifdef MQ_TRACE
    if (i == 0) MQ_TRACE_MARK(5);
#endif
    int next = i + STAGES - 1;
    if (next < n_iters) load_next(next % STAGES, true, true);
    cp_async_commit();
    compute_iter(i % STAGES, kit);
    if (kit == p.k_iters - 1 || i == n_iters - 1) {
#ifdef MQ_TRACE
      if (i == n_iters - 1) MQ_TRACE_MARK(2);
#endif
      finish_tile(tile, seg_begin, kit + 1, i % STAGES);
      zero_acc();
      tile++;
      kit = 0;
      seg_begin = 0;
    } else {
      kit++;
    }
  }
  cp_async_wait<0>();
  MQ_TRACE_MARK(3);
}

// ------------------------------------------------------------------------------------------
// Skinny path (m <= 8): a weight-streaming kernel for decoding-sized batches.
//
// At small m the product is a pass over the weights, and what bounds it is how many weight
// bytes every SM keeps in flight and how few instructions it spends per byte. So:
// * The weights are the MMA's A operand: the 4 registers a lane dequantizes from one int32 of
//   the Marlin layout (tile t of a stripe) are exactly an m16n8k16 A fragment of W^T
//   (16 output features x 16 k), and the activations are the B operand (16 k x 8 tokens).
//   One MMA per 16x16 weight tile instead of two, and no zero rows of A multiplied.
// * Each warp owns one 64-column chunk of a tile and loads its weights straight into
//   registers with 16-byte streaming loads (512 contiguous bytes per warp per stripe), D stripes
//   at a time, one batch ahead of the one it multiplies.
// * The activations of a batch are the same for every chunk of the tile, so the block copies
//   them once (cp.async, double-buffered, one block barrier per batch) and every warp reads them
//   with ldmatrix. When each warp copied its own, their L2 traffic at m = 8 was half again the
//   weight bytes, and time grew with m (H200, 70B set: 194 us at m = 8 against 128 at m = 1;
//   with one copy per block, 129 against 124).
// * Work is stream-K over (tile, stripe) units: every block gets the same number of weight
//   stripes whatever the shape; a tile split between blocks is summed by the block whose range
//   holds its first stripe, from the others' fp32 partials, in range order: deterministic.
// * A block is 8 warps, CW chunks x KW k-warps (the KW warps of a chunk split each batch of
//   stripes and are summed through shared memory when a tile segment ends), two blocks per SM
//   (plan_skinny): each takes half an SM's registers, and together they keep 64 KB of weights
//   in flight per SM, which HBM3e needs. (With one per SM, programmatic dependent launch on
//   sm_90 starts the next launch's block beside it instead; -DMQ_EXPERIMENT builds can force it.)
// Measured history and what did not help (16 warps, L2 prefetch, offset-free dequantization,
// a bulk-copy weight ring, two token groups for m = 9-16): benchmarks/KERNEL_NOTES.md.
// ------------------------------------------------------------------------------------------

struct SkParams {
  const half* A;    // (m, k) fp16
  const int4* B;    // (k/16, 2n) int32
  const int4* s;    // (groups, n) fp16, permuted
  half* C;          // (m, n) fp16
  float* partials;  // (blocks, CW * 512 * TB) fp32: one per range
  int* counters;    // one flag per range (its partial stored), zero between calls
  int m, n, k;
  int n_chunks;     // n / 64
  int stripes;      // k / 16: units per tile
  int tiles;        // ceil(n_chunks / CW)
  int upb;          // units (stripes of one tile) per block
  int total;        // tiles * stripes
#ifdef MQ_TRACE
  int trace_id;
#endif
};

template <int NW, int CW, int D, int G>
struct Skinny {
  static constexpr int TB = 1;                               // token groups of 8 (m <= 8)
  static constexpr int KW = NW / CW;
  // Batches are aligned to scale groups (the planner keeps block ranges at multiples of 8
  // stripes), so a warp's D stripes hold whole groups and every group boundary falls on a
  // slot known at compile time.
  static constexpr int SPG = G > 0 ? G / 16 : D;             // stripes per scale group
  static constexpr int SROWS = G > 0 ? D / SPG : 0;          // scale rows of one batch
  // A batch's activations for the whole block: (k-warp, slot, token group) pairs of 256 bytes,
  // each 8 tokens x 16 k as two 8x8 halves (k 0-7, k 8-15), read by ldmatrix.
  static constexpr int A_STAGE = KW * D * TB * 256;
  // At a segment end the k-warps > 0 hand their accumulators (TB * 2 KB a warp) to their chunk's
  // first k-warp through the stage of the batch just multiplied, RED_T of the four 16-feature
  // slices per round: the other stage already takes the next batch.
  static constexpr int RED_T = 2;
  static constexpr int RED = (KW - 1) * CW * TB * RED_T * 512;
  static constexpr int S_STAGE = SROWS * 128;                // one warp's scale rows of a batch
  static constexpr int SMEM = 2 * A_STAGE + NW * 2 * S_STAGE;
  static constexpr int PARTIAL = CW * 512 * TB;              // floats per block slot
  static_assert(D == 8, "unsupported skinny shape");
  static_assert(D % SPG == 0, "a batch must hold whole scale groups");
  static_assert(RED <= A_STAGE, "a round of the k-warp hand-off must fit one activation stage");
};

// 16 bytes of weights straight into registers, past L1 (each byte is used once); when `pred`
// is false nothing is read and the registers keep their (finite) old contents.
__device__ __forceinline__ void ldg_stream(uint32_t (&d)[4], const int4* p, bool pred) {
  asm volatile(
      "{\n .reg .pred p;\n setp.ne.b32 p, %5, 0;\n"
      " @p ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n}\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "l"(p), "r"((int)pred));
}

// Pure register ops: not volatile, so the compiler may interleave them with the dequantization.
__device__ __forceinline__ void mma_16816_nv(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma_16816_zc(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  const float z = 0.f;
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%10,%10,%10};\n"
      : "=f"(c[0]), "=f"(c[1]), "=f"(c[2]), "=f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "f"(z));
}

template <int NW, int CW, int D, int G>
__global__ void __launch_bounds__(32 * NW, 16 / NW) skinny_gemm_kernel(const SkParams p) {
  using S = Skinny<NW, CW, D, G>;
  constexpr int TB = S::TB;
  constexpr int KW = S::KW;
  constexpr int SPG = S::SPG;
  // Grouped scales are applied after the MMA, in fp32, once per group (16 FFMA per group instead
  // of 16 HMUL2 per stripe).
  constexpr bool POST = G > 0;
  extern __shared__ int4 smem[];
  MQ_TRACE_MARK(0);

  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int cw = warp % CW;
  const int kw = warp / CW;
  const int g = lane >> 2, q = lane & 3;
  char* const a_sm = reinterpret_cast<char*>(smem);                    // 2 activation stages
  char* const wsm = a_sm + 2 * S::A_STAGE + warp * 2 * S::S_STAGE;     // this warp's 2 scale stages

  // Ranges in reverse block order, so that a shared tile's summer (the range holding its first
  // stripe) waits only for lower-numbered blocks (as in the tiled kernel).
  const int range = (int)gridDim.x - 1 - (int)blockIdx.x;
  const int u_begin = range * p.upb;
  const int u_end = min(u_begin + p.upb, p.total);
  const int S_ = p.stripes;
  const int n_vec_B = p.n / 2;  // int4 per B row
  const int n_vec_s = p.n / 8;  // int4 per scale row

  // A batch: stripes [u, u_next) of one tile, from stripe r of it; k-warp kw takes D of them,
  // [lo, lo + cnt).
  struct Batch { int u, u_next, tile, r, lo, cnt; const int4* bp; };
  auto make_batch = [&](int u, int tile) {
    Batch b;
    b.u = u;
    b.tile = tile;
    b.r = u - tile * S_;
    b.u_next = min(min(u + KW * D, (tile + 1) * S_), u_end);
    b.lo = b.r + kw * D;
    const int chunk = tile * CW + cw;
    b.cnt = chunk < p.n_chunks ? max(0, min(D, b.u_next - u - kw * D)) : 0;
    b.bp = p.B + (long long)b.lo * n_vec_B + chunk * 32 + lane;
    return b;
  };

  // This warp's scale rows of a batch into its stage `buf` (cp.async, not committed).
  auto load_scales = [&](const Batch& b, int buf) {
    if constexpr (G > 0) {
      char* st = wsm + buf * S::S_STAGE;
      const int chunk = b.tile * CW + cw;
#pragma unroll
      for (int i = lane >> 3; i < S::SROWS; i += 4) {
        const bool ok = i * SPG < b.cnt;
        const int4* src = ok ? p.s + (long long)(b.lo / SPG + i) * n_vec_s + chunk * 8 + (lane & 7) : p.s;
        cp_async16(st + i * 128 + (lane & 7) * 16, src, ok);
      }
    }
  };
  // The block's activations of a batch into stage `buf`, 16 bytes a thread at a time (token
  // rows past m and stripes past the batch are zero-filled, reading nothing), then this
  // thread's copies committed as one group.
  auto load_acts = [&](const Batch& b, int buf) {
    constexpr int CHUNKS = KW * D * TB * 16;
    char* st = a_sm + buf * S::A_STAGE;
    const int slots = b.u_next - b.u;
#pragma unroll
    for (int i = 0; i < (CHUNKS + 32 * NW - 1) / (32 * NW); i++) {
      const int c = (int)threadIdx.x + i * 32 * NW;
      if (CHUNKS % (32 * NW) != 0 && c >= CHUNKS) break;
      const int pair = c >> 4, slot = pair / TB;
      const int tok = 8 * (pair % TB) + (c & 7), h = (c >> 3) & 1;
      const bool ok = slot < slots && tok < p.m;
      cp_async16(st + c * 16, ok ? p.A + (long long)tok * p.k + (b.r + slot) * 16 + 8 * h : p.A, ok);
    }
    cp_async_commit();
  };
  auto load_stage = [&](const Batch& b, int buf) {
    load_scales(b, buf);
    load_acts(b, buf);
  };

  float acc[4][TB][4];
  float gacc[POST ? 4 : 1][TB][4];  // the current scale group's sum, unscaled (POST only)
  auto zero = [&](auto& x) {
#pragma unroll
    for (int t = 0; t < (int)(sizeof(x) / sizeof(x[0])); t++)
#pragma unroll
      for (int tb = 0; tb < TB; tb++)
#pragma unroll
        for (int c = 0; c < 4; c++) x[t][tb][c] = 0.f;
  };
  zero(acc);

  // C for this warp's chunk of `tile` from acc (per-channel scales applied here).
  auto write_c = [&](int tile) {
    const int chunk = tile * CW + cw;
    if (chunk >= p.n_chunks) return;
    const int col0 = chunk * 64;
#pragma unroll
    for (int t = 0; t < 4; t++) {
      float sl = 1.f, sr = 1.f;
      if (G <= 0) {
        // Per-channel scales are permuted in runs of 32 (see packing.py).
        const half* sp = reinterpret_cast<const half*>(p.s) + col0 + 32 * (t >> 1);
        const int j = 8 * (g >> 1) + 4 * (t & 1) + (g & 1);
        sl = __half2float(sp[j]);
        sr = __half2float(sp[j + 2]);
      }
      const int f = col0 + 16 * t + g;
#pragma unroll
      for (int tb = 0; tb < TB; tb++) {
        const int tok = 8 * tb + 2 * q;
        if (tok < p.m) {
          p.C[(long long)tok * p.n + f] = __float2half_rn(acc[t][tb][0] * sl);
          p.C[(long long)tok * p.n + f + 8] = __float2half_rn(acc[t][tb][2] * sr);
        }
        if (tok + 1 < p.m) {
          p.C[(long long)(tok + 1) * p.n + f] = __float2half_rn(acc[t][tb][1] * sl);
          p.C[(long long)(tok + 1) * p.n + f + 8] = __float2half_rn(acc[t][tb][3] * sr);
        }
      }
    }
  };

  // A tile segment [seg_u0, seg_u1) of `tile` ended (block-uniform); `stage` is the activation
  // stage of its last batch, which every warp has multiplied, while the other stage may already
  // be taking the next batch. Shared tiles: the segment holding the tile's first stripe (the end
  // of its range) sums; the others store a partial and count in with red.release (see the tiled
  // kernel's finish_tile). No path needs a block barrier at its end: `stage` takes loads again
  // only after the main loop's next one. LAST: the range's last segment, the only one that can
  // be a summer (a segment that holds a tile's first stripe but not its last ends where the
  // range ends); the other copy leaves the summer out, and this one is free of the next batch's
  // weight registers, without which the summer's partial loads spill.
  auto finish_tile = [&](int tile, int seg_u0, int seg_u1, char* stage, auto last_tag) {
    constexpr bool LAST = decltype(last_tag)::value;
    if (KW > 1) {
      // Sum the KW warps of each chunk in k-warp order, through `stage`, RED_T slices a round.
      float4* const red = reinterpret_cast<float4*>(stage);
#pragma unroll
      for (int t0 = 0; t0 < 4; t0 += S::RED_T) {
        __syncthreads();  // every warp is done reading the stage (the batch, or the last round)
        if (kw > 0) {
          float4* mine = red + ((kw - 1) * CW + cw) * TB * S::RED_T * 32;
#pragma unroll
          for (int t = 0; t < S::RED_T; t++)
#pragma unroll
            for (int tb = 0; tb < TB; tb++) {
              const float* a = acc[t0 + t][tb];
              mine[(t * TB + tb) * 32 + lane] = make_float4(a[0], a[1], a[2], a[3]);
            }
        }
        __syncthreads();
        if (kw == 0) {
#pragma unroll
          for (int w = 1; w < KW; w++) {
            const float4* other = red + ((w - 1) * CW + cw) * TB * S::RED_T * 32;
#pragma unroll
            for (int t = 0; t < S::RED_T; t++)
#pragma unroll
              for (int tb = 0; tb < TB; tb++) {
                float4 v = other[(t * TB + tb) * 32 + lane];
                float* a = acc[t0 + t][tb];
                a[0] += v.x; a[1] += v.y; a[2] += v.z; a[3] += v.w;
              }
          }
        }
      }
    }
    const int t0 = tile * S_;
    if (seg_u0 == t0 && seg_u1 == t0 + S_) {
      if (kw == 0) write_c(tile);
      return;
    }
    if (seg_u0 > t0) {
      // A range that starts inside the tile: its first segment, one partial per range.
      float4* part = reinterpret_cast<float4*>(p.partials + (long long)range * S::PARTIAL);
      if (kw == 0) {
#pragma unroll
        for (int t = 0; t < 4; t++)
#pragma unroll
          for (int tb = 0; tb < TB; tb++)
            __stcg(part + ((cw * 4 + t) * TB + tb) * 32 + lane,
                   make_float4(acc[t][tb][0], acc[t][tb][1], acc[t][tb][2], acc[t][tb][3]));
      }
      // The barrier orders every thread's stores before thread 0's release (cumulative).
      __syncthreads();
      if (threadIdx.x == 0) count_in(p.counters + range);
      return;
    }
    if constexpr (!LAST) return;
    // The summer: ranges range + 1 .. last hold the rest of the tile, one partial each, each
    // flagged by its own range (count_in on the range's slot, not one count for the tile). Where
    // the partials are read four ranges a round (ROUNDS), each round waits for its own four
    // ranges only, so the partials of the ranges that ended first are read while the last ones
    // still run; the adds stay in range order (same bits). H100, the release before and this in
    // turn, two rounds: 7B set 48.4 -> 46.9-47.0 us at m = 1, 50.6 -> 48.9 at m = 8; Llama-3.2-3B
    // 32.7-33.0 -> 30.9-31.2 at m = 1 (4096x22016 18.1 -> 17.4, 4096x12288 11.9 -> 11.3,
    // 3072x16384 12.0 -> 10.9; benchmarks/logs/s48/flags/).
    const int last = (t0 + S_ - 1) / p.upb;
    constexpr bool ROUNDS = CW == 2 || (CW == 4 && G != 32);  // the four-range rounds below
    if constexpr (!ROUNDS) {
      // The other kernels keep their one-range loop behind a block barrier, as with one count
      // (every reading warp polling, and re-arming at the end, spilled more in their main loops;
      // benchmarks/logs/s48/flags/): warp 0 sees every flag and re-arms them for the next call.
      if (threadIdx.x < 32) {
        flags_seen_all(p.counters, range, last, lane);
      }
      MQ_TRACE_MARK(4);
      __syncthreads();
    }
    if (kw == 0) {
      int ready = range;
      // Four ranges' partials a round trip, the last round predicated: `#pragma unroll 4` over
      // the ranges runs the count % 4 leftover ranges first, one L2 round trip each (7 partials
      // in 4 trips, not 2: 3072x3072 5.9 -> 5.6-5.7 us, 4096x4096 6.8 -> 6.6 at m = 1, H100).
      // Added in range order, as before: same bits. On four-chunk tiles the lane's offset comes
      // from a fresh read of the thread index (asm volatile: the compiler can neither hoist it
      // nor merge it with the kernel's own read); with the offset from `cw` and `lane`, the
      // g128 kernel's main loop recomputed thread indices (5 S2R) and ran 0.2-0.5 us slower on
      // 7B and 70B layers. On two-chunk tiles the fresh read costs a spill
      // load in the g32 and g64 loops instead; the four-chunk g32 and eight-chunk kernels keep
      // the old loop (their main loops changed either way). benchmarks/logs/h100_s33/.
      if constexpr (ROUNDS) {
        int off = cw * 4 * TB * 32 + lane;
        if constexpr (CW == 4) {
          unsigned tid_now;
          asm volatile("mov.u32 %0, %%tid.x;" : "=r"(tid_now));
          off = (int)(((tid_now >> 5) % CW) * 4 * TB * 32 + (tid_now & 31));
        }
        constexpr int RANGES_IN_FLIGHT = 4;
#pragma unroll 1
        for (int r0 = range + 1; r0 <= last; r0 += RANGES_IN_FLIGHT) {
          ready = flags_seen(p.counters, ready, min(r0 + RANGES_IN_FLIGHT - 1, last), last, lane);
#ifdef MQ_TRACE
          if (r0 == range + 1) MQ_TRACE_MARK(4);
#endif
          float4 v[RANGES_IN_FLIGHT][4][TB];
#pragma unroll
          for (int j = 0; j < RANGES_IN_FLIGHT; j++) {
            const float4* src = reinterpret_cast<const float4*>(p.partials + (long long)(r0 + j) * S::PARTIAL);
#pragma unroll
            for (int t = 0; t < 4; t++)
#pragma unroll
              for (int tb = 0; tb < TB; tb++)
                if (r0 + j <= last) v[j][t][tb] = __ldcg(src + off + (t * TB + tb) * 32);
          }
#pragma unroll
          for (int j = 0; j < RANGES_IN_FLIGHT; j++)
            if (r0 + j <= last)
#pragma unroll
              for (int t = 0; t < 4; t++)
#pragma unroll
                for (int tb = 0; tb < TB; tb++) {
                  const float4 x = v[j][t][tb];
                  acc[t][tb][0] += x.x; acc[t][tb][1] += x.y; acc[t][tb][2] += x.z; acc[t][tb][3] += x.w;
                }
        }
      } else {
#pragma unroll 4
        for (int r = range + 1; r <= last; r++) {
          const float4* src = reinterpret_cast<const float4*>(p.partials + (long long)r * S::PARTIAL);
#pragma unroll
          for (int t = 0; t < 4; t++)
#pragma unroll
            for (int tb = 0; tb < TB; tb++) {
              float4 v = __ldcg(src + ((cw * 4 + t) * TB + tb) * 32 + lane);
              acc[t][tb][0] += v.x; acc[t][tb][1] += v.y; acc[t][tb][2] += v.z; acc[t][tb][3] += v.w;
            }
        }
      }
#ifdef MQ_TRACE
      // Thread 0 (k-warp 0, a reader): partials added (the stamp takes an accumulator as an
      // input, so it cannot move above the adds), then C stored; slots as the Hopper summer's.
      asm volatile("" ::"f"(acc[0][0][0]));
      MQ_TRACE_MARK(8);
#endif
      write_c(tile);
#ifdef MQ_TRACE
      MQ_TRACE_MARK(9);
#endif
    }
    if constexpr (ROUNDS) {
      // Re-arm the flags for the next call once every reading warp has seen them.
      __syncthreads();
      rearm_flags(p.counters, range, last, (int)threadIdx.x, (int)blockDim.x);
    }
  };

  // ---- main loop: batch i multiplies registers bq and stage i % 2 while batch i + 1 loads ----
  if (u_begin >= u_end) return;
  uint32_t bq[D][4];
#pragma unroll
  for (int s = 0; s < D; s++) bq[s][0] = bq[s][1] = bq[s][2] = bq[s][3] = 0x88888888u;
  Batch cur = make_batch(u_begin, u_begin / S_);
  {
    const int4* bp = cur.bp;
#pragma unroll
    for (int s = 0; s < D; s++, bp += n_vec_B) ldg_stream(bq[s], bp, s < cur.cnt);
  }
  // Programmatic dependent launch (sm_90): the weights and scales never depend on the kernel
  // before this one, so their first batch is already on its way; the activations (its output,
  // possibly) and every write wait for it to finish. The next kernel may start its own weight
  // loads as this one's blocks retire. With the scales requested after the release, the first
  // multiply waited a DRAM round trip (MQ_TRACE: 2.3 -> 1.0 us after the release); the launch
  // as a whole was not measurably faster (benchmarks/KERNEL_NOTES.md).
  load_scales(cur, 0);
  grid_dependency_wait();
  MQ_TRACE_MARK(1);
  grid_launch_dependents();
  load_acts(cur, 0);
  int seg_u0 = u_begin;
  int buf = 0;
  // This warp's pairs of a stage start at its k-warp's slots.
  const char* const lane_a = a_sm + kw * D * TB * 256 + lane * 16;
  const char* const lane_s = wsm + g * 16;

  // The D stripes of one batch; FULL: all D are valid (the common case, no per-slot tests).
  auto run_batch = [&](auto full_tag, const Batch& nxt) {
    constexpr bool FULL = decltype(full_tag)::value;
    const char* a_st = lane_a + buf * S::A_STAGE;
    [[maybe_unused]] const char* s_st = lane_s + buf * S::S_STAGE;  // grouped scales only
    const int4* nbp = nxt.bp;
    uint32_t bf[4];
#pragma unroll
    for (int s = 0; s < D; s++, nbp += n_vec_B) {
      uint32_t qv[4] = {bq[s][0], bq[s][1], bq[s][2], bq[s][3]};
      ldg_stream(bq[s], nbp, s < nxt.cnt);
      if (!FULL && s >= cur.cnt) continue;  // warp-uniform; cnt is a whole number of groups
      // Activation fragments (b0, b1): two stripes per ldmatrix.x4.
      if (s % 2 == 0) ldmatrix_x4(bf, a_st + s * 256);
      const int hs = 2 * (s % 2);
#pragma unroll
      for (int t = 0; t < 4; t++) {
        uint32_t left[2], right[2];
        dequant8(qv[t], left, right);
        const uint32_t af[4] = {left[0], right[0], left[1], right[1]};
        if constexpr (POST) {
          if (s % SPG == 0) mma_16816_zc(gacc[t][0], af, bf[hs], bf[hs + 1]);
          else mma_16816_nv(gacc[t][0], af, bf[hs], bf[hs + 1]);
        } else {
          mma_16816_nv(acc[t][0], af, bf[hs], bf[hs + 1]);
        }
      }
      if constexpr (POST) {
        if ((s + 1) % SPG == 0) {  // the group is complete: scale it in fp32
          const int4 v = *reinterpret_cast<const int4*>(s_st + (s / SPG) * 128);
          const uint32_t sv[4] = {(uint32_t)v.x, (uint32_t)v.y, (uint32_t)v.z, (uint32_t)v.w};
#pragma unroll
          for (int t = 0; t < 4; t++) {
            const float2 f = __half22float2(as_half2(sv[t]));  // (feature 16t + g, 16t + 8 + g)
#pragma unroll
            for (int tb = 0; tb < TB; tb++) {
              acc[t][tb][0] = fmaf(gacc[t][tb][0], f.x, acc[t][tb][0]);
              acc[t][tb][1] = fmaf(gacc[t][tb][1], f.x, acc[t][tb][1]);
              acc[t][tb][2] = fmaf(gacc[t][tb][2], f.y, acc[t][tb][2]);
              acc[t][tb][3] = fmaf(gacc[t][tb][3], f.y, acc[t][tb][3]);
            }
          }
        }
      }
    }
  };

  for (;;) {
    const bool more = cur.u_next < u_end;
    const int tile_end = (cur.tile + 1) * S_;
    const bool ends = cur.u_next == tile_end || !more;
    Batch nxt;
    nxt.cnt = 0;
    nxt.bp = p.B;
    if (more) nxt = make_batch(cur.u_next, cur.tile + (cur.u_next == tile_end));
    // Every thread's copies of this batch have landed, and every warp is done with the other
    // stage (the previous batch), which the next batch's copies now overwrite; at a segment end
    // they wait for the k-warp hand-off, which uses both stages.
    cp_async_wait<0>();
    __syncthreads();
#ifdef MQ_TRACE
    if (cur.u == u_begin) MQ_TRACE_MARK(5);
#endif
    // The next batch's stage is requested before this one is multiplied, also where a tile
    // segment ends: the k-warp hand-off uses only this batch's stage. (When the hand-off used
    // both and the next stage was requested after it, the range that crosses a tile boundary,
    // the one that also sums the next tile, ended its loop 1-1.5 us after the others: MQ_TRACE,
    // H200. Requested before: 7B set 46.2 -> 44.8 us at m = 1, 70B 123.0 -> 122.0, same call,
    // benchmarks/logs/crossing/; the crossing range still lags, for a reason not yet found.)
    // With one k-warp there is no hand-off, and the request stays after the segment end, where
    // it was: requested before, the eight-chunk kernel spilled (ptxas) and 8192x57344 ran 4-5
    // us slower.
    if (more && (KW > 1 || !ends)) load_stage(nxt, buf ^ 1);
    if (cur.cnt == D) run_batch(std::true_type{}, nxt);
    else run_batch(std::false_type{}, nxt);
    if (ends) {
#ifdef MQ_TRACE
      if (!more) MQ_TRACE_MARK(2);
#endif
      if (!more) {
        finish_tile(cur.tile, seg_u0, cur.u_next, a_sm + buf * S::A_STAGE, std::true_type{});
        break;
      }
      finish_tile(cur.tile, seg_u0, cur.u_next, a_sm + buf * S::A_STAGE, std::false_type{});
      zero(acc);
      seg_u0 = cur.u_next;
      if (KW == 1) load_stage(nxt, buf ^ 1);
    }
    cur = nxt;
    buf ^= 1;
  }
  MQ_TRACE_MARK(3);
}

// ------------------------------------------------------------------------------------------
// Hopper path (sm_90a, m >= MQ_WGMMA_MIN_M): the weights feed warpgroup MMAs (wgmma) from registers.
//
// From m = 32 or so the product stops being a pass over the weights and mma.sync's issue rate
// binds (the tiled kernel above reaches ~340 TFLOP/s at m = 128). wgmma runs a 64 x N x 16
// product per warpgroup per instruction, asynchronously, with B read by the tensor cores from
// shared memory. Here:
// * C^T = W^T A^T: the weights are wgmma's A operand, in registers. A lane's int32 of the Marlin
//   layout dequantizes to exactly its m16n8k16 A fragment of W^T (16 features x 16 k; see the
//   skinny path), and wgmma's register A fragment is that layout per warp (warp w of the
//   warpgroup gives rows 16w .. 16w + 15). The activations are B: NTOK tokens x 16 k, K-major,
//   staged by cp.async in the 128-byte-swizzled layout the tensor cores read directly.
// * A block is two warpgroups; each multiplies CH * 64 features (CH wgmmas per 16-row stripe,
//   one accumulator of NTOK / 2 fp32 per thread each), so a tile is NTOK tokens x 128 * CH
//   features. A stage is 64 or 128 rows of k (one or two swizzle atoms wide): activations,
//   weights and scales through a STAGES-deep cp.async ring, refilled two stages behind the one
//   multiplied so that a stripe's wgmmas stay in flight while the next stripe is dequantized.
// * Work is stream-K over (tile, stage) exactly as in the tiled kernel (reverse block order,
//   the segment holding a tile's first stage sums the others' fp32 partials in range order:
//   deterministic), with programmatic dependent launch. Where a tile's k is split several ways,
//   each range is run by a cluster of two blocks that take alternate stages and finish half
//   the tile each ("Pairs" below).
// ------------------------------------------------------------------------------------------

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MQ_WGMMA_DEVICE 1
#else
#define MQ_WGMMA_DEVICE 0
#endif

struct WgParams {
  const int4* A;    // (m, k) fp16
  const int4* B;    // (k/16, 2n) int32
  const int4* s;    // (groups, n) fp16, permuted
  half* C;          // (m, n) fp16
  float* partials;  // (blocks, NTOK * F) fp32: one per range
  int* counters;    // one flag per range (its partial stored), a row per block of a pair
  int m, n, k, groupsize;
  int g_shift;      // log2(groupsize) (grouped scales only)
  int m_chunks, k_iters;  // tiles = m_chunks * n_slices, token chunk fastest
  int blocks, upb;
  long long total_iters;
  int pair;  // 1: clusters of two blocks share each stream-K range (see "Pairs" in the kernel)
#ifdef MQ_TRACE
  int trace_id;
#endif
};

template <int NTOK, int CH, int STAGES, int KB>
struct WgTile {
  static constexpr int NT = 256;                 // two warpgroups
  static constexpr int F = 2 * CH * 64;          // features per tile
  static constexpr int KS = 4 * KB;              // stripes per stage: KB atoms of 64 k (128-byte rows)
  static constexpr int A_ATOM = NTOK * 128;      // one atom column of activations, a multiple of 1024
  static constexpr int A_BYTES = KB * A_ATOM;
  static constexpr int B_BYTES = KS * F * 8;
  static constexpr int S_BYTES = 2 * KB * F * 2;  // at most 2 KB scale rows per stage (g32)
  static constexpr int STAGE = (A_BYTES + B_BYTES + S_BYTES + 1023) / 1024 * 1024;
  static constexpr int SMEM = STAGES * STAGE + 1024;  // + alignment slack for the 1024-byte atoms
  static constexpr int ACC = NTOK / 2;           // fp32 accumulators per thread per wgmma
  static constexpr int PARTIAL = NTOK * F;       // floats per partial tile
  static_assert(NTOK == 16 || NTOK == 32 || NTOK == 64 || NTOK == 128, "token tiles of 16, 32, 64 or 128");
  static_assert(CH == 1 || CH == 2 || CH == 4, "1, 2 or 4 wgmmas per stripe");
  static_assert(STAGES >= 3, "the ring refills two stages behind the one multiplied");
  static_assert(KB == 1 || KB == 2, "stages of 64 or 128 k");
  // A pair's hand-over of half a tile goes through the two stages the ring leaves idle at a
  // segment end (kb = 1 tiles are never paired).
  static_assert(KB == 1 || PARTIAL <= STAGE, "half a fp32 tile fits two stages");
};

// Register-A warpgroup MMA, D (64 x N, fp32) = A (64 x 16, fp16 registers) x B (16 x N, fp16,
// K-major in shared memory, described by `desc`) + (accumulate ? D : 0).
template <int N>
__device__ __forceinline__ void wgmma_rs(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t desc, bool accumulate);
// The asm operand lists of the three shapes the kernel uses (n32: 16 accumulators, n64: 32,
// n128: 64).
#define MQ_D8(d, i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
#define MQ_D16(d) MQ_D8(d, 0), MQ_D8(d, 8)
#define MQ_R8 "{%0,%1,%2,%3,%4,%5,%6,%7}"
#define MQ_D32(d) MQ_D16(d), MQ_D8(d, 16), MQ_D8(d, 24)
#define MQ_D64(d) MQ_D32(d), MQ_D8(d, 32), MQ_D8(d, 40), MQ_D8(d, 48), MQ_D8(d, 56)
#define MQ_R16 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}"
#define MQ_R32 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}"
#define MQ_R64 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}"
// scale-d is an immediate: 1 accumulates into D, 0 overwrites it.
#define MQ_WGMMA_RS(N, REGS, AREGS, DESC, SCALE_D) \
  "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32.f16.f16 " REGS ", " AREGS ", " DESC ", " SCALE_D ", 1, 1, 0;\n"
#define MQ_A_IN "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc)

template <>
__device__ __forceinline__ void wgmma_rs<16>(float (&d)[8], const uint32_t (&a)[4], uint64_t desc, bool accumulate) {
  if (accumulate) asm volatile(MQ_WGMMA_RS(16, MQ_R8, "{%8,%9,%10,%11}", "%12", "1") : MQ_D8(d, 0) : MQ_A_IN);
  else asm volatile(MQ_WGMMA_RS(16, MQ_R8, "{%8,%9,%10,%11}", "%12", "0") : MQ_D8(d, 0) : MQ_A_IN);
}
template <>
__device__ __forceinline__ void wgmma_rs<32>(float (&d)[16], const uint32_t (&a)[4], uint64_t desc, bool accumulate) {
  if (accumulate) asm volatile(MQ_WGMMA_RS(32, MQ_R16, "{%16,%17,%18,%19}", "%20", "1") : MQ_D16(d) : MQ_A_IN);
  else asm volatile(MQ_WGMMA_RS(32, MQ_R16, "{%16,%17,%18,%19}", "%20", "0") : MQ_D16(d) : MQ_A_IN);
}
template <>
__device__ __forceinline__ void wgmma_rs<64>(float (&d)[32], const uint32_t (&a)[4], uint64_t desc, bool accumulate) {
  if (accumulate) asm volatile(MQ_WGMMA_RS(64, MQ_R32, "{%32,%33,%34,%35}", "%36", "1") : MQ_D32(d) : MQ_A_IN);
  else asm volatile(MQ_WGMMA_RS(64, MQ_R32, "{%32,%33,%34,%35}", "%36", "0") : MQ_D32(d) : MQ_A_IN);
}
template <>
__device__ __forceinline__ void wgmma_rs<128>(float (&d)[64], const uint32_t (&a)[4], uint64_t desc, bool accumulate) {
  if (accumulate) asm volatile(MQ_WGMMA_RS(128, MQ_R64, "{%64,%65,%66,%67}", "%68", "1") : MQ_D64(d) : MQ_A_IN);
  else asm volatile(MQ_WGMMA_RS(128, MQ_R64, "{%64,%65,%66,%67}", "%68", "0") : MQ_D64(d) : MQ_A_IN);
}
#undef MQ_A_IN
#undef MQ_WGMMA_RS
#undef MQ_R64
#undef MQ_R32
#undef MQ_R16
#undef MQ_R8
#undef MQ_D64
#undef MQ_D32
#undef MQ_D16
#undef MQ_D8

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
// Keeps the compiler from moving accesses of an accumulator across a wgmma fence or wait.
template <int N>
__device__ __forceinline__ void fence_operands(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+f"(d[i])::"memory");
}

// Shared-memory matrix descriptor: K-major, 128-byte swizzle, 8-row groups 1024 bytes apart.
// Split in two: the low word holds the start address (bits 0-13, in 16-byte units) and the
// constant leading-byte offset; the high word is a constant. A stage builds the low word once
// and each stripe adds its offset in 16-byte units: the address field cannot carry (shared
// addresses stay under 256 KB), so the descriptor is the same bits as building it from the
// stripe's address, and the stripe's wgmmas no longer wait on a five-deep uniform chain (H100,
// m = 16: 4096x22016 21.2 -> 20.8 us, 8192x8192 17.1-17.2 -> 16.7; m = 64 the 7B set
// 85.9-86.8 -> 84.5-84.8; benchmarks/logs/s43/cand/).
__device__ __forceinline__ uint32_t smem_desc_sw128_lo(uint32_t addr) {
  return ((addr & 0x3ffff) >> 4) | (1u << 16);
}
__device__ __forceinline__ uint64_t smem_desc_sw128(uint32_t lo, uint32_t offset_bytes) {
  return (uint64_t)(lo + (offset_bytes >> 4)) | ((uint64_t)((1024 >> 4) | (1u << 30)) << 32);
}

// Per-channel scale of output feature f (packed in runs of 32; see packing.py).
__device__ __forceinline__ float channel_scale(const int4* s, int f) {
  const int o = f & 31;
  return __half2float(reinterpret_cast<const half*>(s)[(f & ~31) + 8 * ((o & 7) >> 1) + 2 * (o >> 3) + (o & 1)]);
}

template <int CH>
__device__ __forceinline__ void lds_words(uint32_t (&w)[CH], uint32_t addr) {
  if constexpr (CH == 4) {
    asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n" : "=r"(w[0]), "=r"(w[1]), "=r"(w[2]), "=r"(w[3]) : "r"(addr) : "memory");
  } else if constexpr (CH == 1) {
    asm volatile("ld.shared.u32 %0, [%1];\n" : "=r"(w[0]) : "r"(addr) : "memory");
  } else {
    asm volatile("ld.shared.v2.u32 {%0,%1}, [%2];\n" : "=r"(w[0]), "=r"(w[1]) : "r"(addr) : "memory");
  }
}

__device__ __forceinline__ float4 ld_shared_v4(uint32_t addr) {
  float4 v;
  asm volatile("ld.shared.v4.f32 {%0,%1,%2,%3}, [%4];\n" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "r"(addr) : "memory");
  return v;
}
// Stores to shared address `addr` of the cluster's block `rank`.
__device__ __forceinline__ void st_dsmem_v4(uint32_t addr, int rank, float a, float b, float c, float d) {
  uint32_t remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(remote) : "r"(addr), "r"(rank));
  asm volatile("st.shared::cluster.v4.f32 [%0], {%1,%2,%3,%4};\n" ::"r"(remote), "f"(a), "f"(b), "f"(c), "f"(d) : "memory");
}
// Every thread of every block of the cluster: shared-memory writes before it are visible to
// the cluster's reads after it.
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}

// Blocks an SM a Hopper tile is built for. The 16 x 128 tile takes four stages (57 KB) and at
// most 128 registers (it needs 128 without spilling), so an SM holds two blocks, 16 warps: the
// 16-token loop is latency-bound at two warps a scheduler (ncu, benchmarks/logs/s48/ncu/), and
// two blocks of four stages beat one of eight on every layer up to 2^26 weights (H100, one
// process, two rounds, us at m = 16, the plan before (16 x 128 of eight stages below 2^25
// weights, 16 x 256 above) / this tile: 4096x4096 7.1 / 6.8, 8192x3072 10.0 / 8.7, 11008x4096
// 13.6-13.7 / 12.1-12.2, 4096x12288 13.8-13.9 / 12.5-12.9, 3072x16384 13.6 / 12.6, 8192x8192
// 16.3-16.4 / 15.5-15.8; benchmarks/logs/s50/). Seven stages at two blocks ran between the two.
constexpr int wg_blocks_per_sm(int ntok, int ch, int stages) { return ntok == 16 && ch == 1 && stages == 4 ? 2 : 1; }

// POST (groups of 128 on 128-k stages, so that a stage is one group; the planner's `post`):
// group scales applied after the MMA in fp32, as the skinny kernel does, instead of an fp16
// multiply per weight pair before it. Per channel had been 9-14% faster than groups of 128 at
// m = 32-64 on the H100, three to five times what its 3% fewer bytes explain. A stage's wgmmas
// go to a stage set (ssum, CH x NTOK / 2 more registers a thread), which the next stage folds
// into acc after it has dequantized its first stripe and waited for every group. Folded later,
// with the next stage's first groups in flight (two sets, a stage apart), ptxas serialized every
// wgmma (C7514) wherever the set's writers reached the fold through a loop edge. H100, same
// process: m = 32 7B set 72.9 -> 67.0 us, 70B 221.0 -> 209.7; m = 16 on 16 x 512 0.2-1.3 us a
// layer (benchmarks/logs/h100_s28/).
template <int NTOK, int CH, int STAGES, int KB, bool PER_CHANNEL, bool POST>
__global__ void __launch_bounds__(256, wg_blocks_per_sm(NTOK, CH, STAGES)) wgmma_gemm_kernel(const WgParams p) {
  static_assert(!POST || (!PER_CHANNEL && KB == 2), "scales after the MMA: one group of 128 per 128-k stage");
#if MQ_WGMMA_DEVICE
  using T = WgTile<NTOK, CH, STAGES, KB>;
  constexpr int F = T::F;
  constexpr int AREPS = KB * NTOK * 8 / T::NT;   // 16-byte activation copies per thread per stage
  constexpr int BREPS = T::KS * F / 2 / T::NT;   // weight copies per thread per stage (= KB * CH)
  constexpr int SVEC = F / 8;                    // int4 per scale row of a tile
  constexpr int PD = STAGES - 2;                 // stages requested ahead of the one multiplied
  static_assert(AREPS >= 1 && BREPS >= 1, "every thread copies activations and weights");
  extern __shared__ int4 smem_raw[];
  const uint32_t smem = (smem_addr(smem_raw) + 1023) & ~1023u;
  // Stage buf's wgmma descriptor low word is this plus buf stages in 16-byte units: stages are
  // 1024-byte multiples under 256 KB, so the sum never reaches the fixed bit 16 (same bits).
  const uint32_t desc_lo0 = smem_desc_sw128_lo(smem);
  MQ_TRACE_MARK(0);

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, q = lane & 3;
  // This warp's share of a stripe: chunk `cin` of the tile, tiles t0 .. t0 + CH - 1 of it (the
  // rows it gives each of its warpgroup's CH wgmmas).
  const int cin = (warp >> 2) * CH + ((warp & 3) * CH) / 4;
  const int t0 = ((warp & 3) % (4 / CH)) * CH;

  // Pairs: the two blocks of a cluster share one stream-K range, block `rank` multiplying its
  // stages rank, rank + 2, ... (the planner keeps upb and k_iters even, so both get the same
  // stages of every tile segment). At a segment end each hands the other the half of its tile it
  // does not keep, through distributed shared memory; the fixup below then runs on half tiles,
  // so a summer reads half as many partials, each half the size, as a single block's would. A
  // single summer's reads through its one SM took 4-13 us a layer at m = 64-256; paired, the
  // last summer of 4096x4096 at m = 64 finished 2.6 us after its wait instead of 9.5, though
  // the hand-overs put that wait 1.5 us later (H200 traces, benchmarks/logs/pairs/).
  const int stride = p.pair ? 2 : 1, rank = p.pair ? (int)(blockIdx.x & 1) : 0;
  // Reverse block order (see the tiled kernel).
  const int range = p.blocks / stride - 1 - (int)blockIdx.x / stride;
  const long long it_begin = (long long)range * p.upb;
  const long long it_end = min(it_begin + p.upb, p.total_iters);
  const int n_iters = (int)(it_end - it_begin) / stride;
  if (n_iters <= 0) return;  // both blocks of a pair, or neither
  const int first_tile = (int)(it_begin / p.k_iters);

  const int n_vec_B = p.n / 2, n_vec_s = p.n / 8, k_vec_A = p.k / 8;
  const int groups = PER_CHANNEL ? 1 : p.k / p.groupsize;
  const int s_rows = PER_CHANNEL ? 0 : (p.groupsize < T::KS * 16 ? (T::KS * 16) >> p.g_shift : 1);
  auto tile_coords = [&](int tile, int& row0, int& col0) {
    row0 = (tile % p.m_chunks) * NTOK;
    col0 = (tile / p.m_chunks) * F;
  };

  // ---- loads: stage `buf` gets stage `kit` of tile `ld_tile` ----
  int ld_tile = first_tile, ld_kit = (int)(it_begin - (long long)first_tile * p.k_iters) + rank;
  int ld_row0, ld_col0;
  // A thread's copies sit at fixed offsets from two per-stage pointers: activation copy rep is
  // token row a_r + 32 (rep % PASSES) and 16-byte column a_c of atom rep / PASSES; weight copy
  // rep is stripe b_stripe + rep * 256 / (F / 2), vector b_v. Folding that by hand matters:
  // written as divisions of tid + 256 rep, the copies cost ~280 instructions of address math a
  // stage a warp, as many as the stage's dequantization and MMAs (ncu, 4096x22016 at m = 256).
  constexpr int A_ROWS = T::NT / 8;  // rows one pass of the block's threads copies
  // 16-token tiles: one pass covers the rows of two atoms.
  constexpr int A_SUB = NTOK < A_ROWS ? A_ROWS / NTOK : 1;
  const int a_r0 = tid >> 3, a_c = tid & 7;
  const int a_r = A_SUB == 1 ? a_r0 : a_r0 % NTOK, a_atom = A_SUB == 1 ? 0 : a_r0 / NTOK;
  const uint32_t a_dst = a_atom * T::A_ATOM + a_r * 128 + ((a_c ^ (a_r & 7)) << 4);  // rows 32 apart keep r & 7
  const long long a_pass = (long long)A_ROWS * k_vec_A;
  const int b_stripe = tid / (F / 2), b_v = tid % (F / 2);
  const long long b_pass = (long long)(T::NT / (F / 2)) * n_vec_B;
  // The two per-stage pointers run (RUN): recomputed from (tile, kit) only where the loads move
  // to the next tile, advanced by one stage's stride otherwise. Recomputed every stage, the
  // 64-bit products (stripe x n / 2, per weight copy) cost the 16 x 512 tile 83 of the 260
  // instructions between its barrier and its first shared-memory read (static SASS, sm_90a: 823
  // a stage before, 742 after; 32 x 512 835 -> 750, 128 x 256 571 -> 505). The 64 x 512 tiles
  // keep the recomputation: at 255 registers, running pointers made ptxas spill them.
  constexpr bool RUN = !(NTOK == 64 && CH == 4);
  auto a_at = [&]() { return p.A + (long long)(ld_row0 + a_r) * k_vec_A + ld_kit * KB * 8 + a_atom * 8 + a_c; };
  auto b_at = [&]() { return p.B + (long long)(ld_kit * T::KS + b_stripe) * n_vec_B + ld_col0 / 2 + b_v; };
  const long long b_step = (long long)stride * T::KS * n_vec_B;
  const int4* ld_a = nullptr;
  const int4* ld_b = nullptr;
  auto seek = [&]() {
    tile_coords(ld_tile, ld_row0, ld_col0);
    if constexpr (RUN) {
      ld_a = a_at();
      ld_b = b_at();
    }
  };
  seek();
  auto load_stage = [&](int buf, bool do_a, bool do_bs) {
    const uint32_t sA = smem + buf * T::STAGE, sB = sA + T::A_BYTES, sS = sB + T::B_BYTES;
    if (do_a) {
      const int rows_left = p.m - ld_row0 - a_r;
      const int4* a0 = RUN ? ld_a : a_at();
#pragma unroll
      for (int rep = 0; rep < AREPS; rep++) {
        constexpr int PASSES = NTOK >= A_ROWS ? NTOK / A_ROWS : 1;  // passes per atom
        const int row = (rep % PASSES) * A_ROWS, kb = rep / PASSES;
        const bool ok = row < rows_left;
        const int4* src = ok ? a0 + (rep % PASSES) * a_pass + kb * 8 : p.A;
        cp_async16_s(sA + kb * T::A_ATOM + row * 128 + a_dst, src, ok);
      }
    }
    if (do_bs) {
      const bool ok = ld_col0 + 64 * (b_v >> 5) < p.n;
      if constexpr (RUN) {
        const int4* b = ld_b;
#pragma unroll
        for (int rep = 0; rep < BREPS; rep++, b += b_pass) cp_async16_s(sB + (tid + rep * T::NT) * 16, ok ? b : p.B, ok);
      } else {
        const int4* b0 = b_at();
#pragma unroll
        for (int rep = 0; rep < BREPS; rep++) cp_async16_s(sB + (tid + rep * T::NT) * 16, ok ? b0 + rep * b_pass : p.B, ok);
      }
      if (!PER_CHANNEL && tid < SVEC * s_rows) {
        const int grow = ((ld_kit * T::KS * 16) >> p.g_shift) + tid / SVEC;
        const int v = tid % SVEC;
        const bool ok = grow < groups && ld_col0 + 8 * v < p.n;
        cp_async16_s(sS + tid * 16, ok ? p.s + (long long)grow * n_vec_s + ld_col0 / 8 + v : p.s, ok);
      }
    }
  };
  auto advance = [&]() {
    if ((ld_kit += stride) >= p.k_iters) {
      ld_kit -= p.k_iters;
      ld_tile++;
      seek();
    } else if constexpr (RUN) {
      ld_a += stride * KB * 8;
      ld_b += b_step;
    }
  };

  // Every segment's first wgmma overwrites these; zeroed once so they are never undefined.
  float acc[CH][T::ACC];
#pragma unroll
  for (int i = 0; i < CH; i++)
#pragma unroll
    for (int j = 0; j < T::ACC; j++) acc[i][j] = 0.f;

  // One stage: KS stripes, each dequantized into fresh registers while earlier stripes' wgmmas
  // run (at most DEPTH - 1 groups in flight after each stripe). 32- and 64-token tiles (AHEAD):
  // four groups, and a stripe's weight and scale words read from shared memory while the stripe
  // before it is multiplied, before the wait. There a stripe's wgmmas are 32-64 tensor cycles,
  // shorter than the chain from one group's completion to the next's issue (words,
  // dequantization, fence), so with one group of slack the pipe sat idle between them (ncu: the
  // first use of the words was the loop's top short-scoreboard stall); H200, three rounds: 7B
  // set at m = 33 and 64 2% faster. 128-token tiles keep two groups and read each stripe's words
  // after the wait: with four (and the read-ahead) the 7B set at m = 256, all 128-token tiles,
  // was 3.5% slower in every round (benchmarks/logs/h200_s20/); read-ahead alone there was not
  // measured. 32-token tiles were measured with four groups only. DEPTH divides the stripes of
  // a stage, so the register buffers continue across stages.
  constexpr int DEPTH = NTOK == 128 ? 2 : 4;
  constexpr bool AHEAD = DEPTH == 4;
  static_assert(T::KS % DEPTH == 0 && DEPTH <= T::KS, "register buffers continue across stages");
  uint32_t af[DEPTH][CH][4];
  // POST: the stage set and its scale pairs (feature g, feature g + 8 of each wgmma's rows);
  // not allocated otherwise.
  [[maybe_unused]] float ssum[CH][T::ACC];
  [[maybe_unused]] uint32_t sscale[CH];
  // POST: acc += the stage set x its group scales, once every wgmma group has completed.
  [[maybe_unused]] auto fold = [&]() {
#pragma unroll
    for (int i = 0; i < CH; i++) {
      fence_operands(ssum[i]);
      const float2 sc = __half22float2(as_half2(sscale[i]));
#pragma unroll
      for (int jn = 0; jn < NTOK / 8; jn++) {
        acc[i][4 * jn] = fmaf(ssum[i][4 * jn], sc.x, acc[i][4 * jn]);
        acc[i][4 * jn + 1] = fmaf(ssum[i][4 * jn + 1], sc.x, acc[i][4 * jn + 1]);
        acc[i][4 * jn + 2] = fmaf(ssum[i][4 * jn + 2], sc.y, acc[i][4 * jn + 2]);
        acc[i][4 * jn + 3] = fmaf(ssum[i][4 * jn + 3], sc.y, acc[i][4 * jn + 3]);
      }
    }
  };
  // first: the stage opens a tile segment, so its first stripe overwrites the accumulators.
  auto compute_stage = [&](int buf, auto first_tag) {
    constexpr bool FIRST = decltype(first_tag)::value;
    const uint32_t sA = smem + buf * T::STAGE, sB = sA + T::A_BYTES;
    [[maybe_unused]] const uint32_t sS = sB + T::B_BYTES;
    const uint32_t desc_lo = desc_lo0 + buf * (T::STAGE >> 4);
    const uint32_t wb = sB + cin * 512 + lane * 16 + t0 * 4;
    [[maybe_unused]] const uint32_t sb = sS + cin * 128 + g * 16 + t0 * 4;
    uint32_t wq[CH];
    [[maybe_unused]] uint32_t sw[CH];
    auto read_words = [&](int j) {
      lds_words<CH>(wq, wb + j * F * 8);
      if constexpr (!PER_CHANNEL && !POST) lds_words<CH>(sw, sb + ((16 * j) >> p.g_shift) * (F * 2));
    };
    if constexpr (POST && FIRST) {
#pragma unroll
      for (int i = 0; i < CH; i++)
#pragma unroll
        for (int v = 0; v < T::ACC; v++) acc[i][v] = 0.f;
    }
    if constexpr (AHEAD) read_words(0);
#pragma unroll
    for (int j = 0; j < T::KS; j++) {
      if constexpr (!AHEAD) read_words(j);
#pragma unroll
      for (int i = 0; i < CH; i++) {
        uint32_t left[2], right[2];
        dequant8(wq[i], left, right);
        if constexpr (!PER_CHANNEL && !POST) {
          scale_halves(left, right, sw[i]);  // (feature 16t + g, feature 16t + 8 + g)
        }
        af[j % DEPTH][i][0] = left[0];
        af[j % DEPTH][i][1] = right[0];
        af[j % DEPTH][i][2] = left[1];
        af[j % DEPTH][i][3] = right[1];
      }
      if constexpr (POST) {
        if (j == 0) {
          // The stage before's groups ran while this stripe was dequantized.
          if constexpr (!FIRST) {
            wgmma_wait<0>();
            fold();
          }
          lds_words<CH>(sscale, sb);  // the stage's one group
        }
      }
      const uint64_t desc = smem_desc_sw128(desc_lo, (j / 4) * T::A_ATOM + (j % 4) * 32);
      wgmma_fence();
#pragma unroll
      for (int i = 0; i < CH; i++) {
        if constexpr (POST) wgmma_rs<NTOK>(ssum[i], af[j % DEPTH][i], desc, j != 0);
        else wgmma_rs<NTOK>(acc[i], af[j % DEPTH][i], desc, !(FIRST && j == 0));
      }
      wgmma_commit();
      if (AHEAD && j + 1 < T::KS) read_words(j + 1);
      wgmma_wait<DEPTH - 1>();
    }
  };

  // The fixup runs on a whole tile (HALF false: CH wgmmas' accumulators) or, in a pair, on the
  // half a block keeps: after pair_exchange, acc[i] for i < CH / 2 holds wgmma 2 i + rank. Two
  // compile-time shapes, not a per-wgmma test: a runtime "kept" predicate on the fixup's loads
  // cost 50 registers and serialized the summer's reads (7B set at m = 64: 104 -> 137 us).
  // Accumulator (i, jn, v) of a thread: feature col0 + 64 cin + 16 (t0 + i) + g + 8 (v >> 1),
  // token row0 + 8 jn + 2 q + (v & 1), with i the wgmma it came from.
  // C goes out as 8-byte stores of 4 features of one token, after two exchanges between lanes
  // (a lane holds features g and g + 8 of tokens 2q and 2q + 1): with lane ^ 4 (feature g ^ 1)
  // each lane keeps one token's pairs of features, with lane ^ 8 (pair ^ 1) four features in a
  // row. Per (wgmma, 8 tokens) a warp then writes 8 whole 32-byte sectors with one store
  // instruction instead of four 2-byte stores (the Hopper summers' C stores took up to 2 us at
  // m = 64 on the H100, benchmarks/logs/h100_s34/sumtrace/). The same values: the same bits.
  // 16-token tiles keep 2-byte stores: packed, m = 16 was level or slower (Llama-3.2-3B's
  // 3072x3072 7.1 -> 7.3 us), while 32-token tiles gained on every layer (7B set at m = 32:
  // 67.0-67.1 -> 66.2 us). On 64- and 128-token tiles the gain depends on the layer (70B set at
  // m = 64: 280 -> 273 us, at m = 256: 843 -> 855; 7B at m = 256: 236 -> 231; H100,
  // benchmarks/logs/h100_s35/per_layer_ab.txt).
  auto write_c = [&](auto half_tag, int row0, int col0, int rows_left) {
    constexpr bool HALF = decltype(half_tag)::value;
    constexpr int NI = HALF ? CH / 2 : CH;
    const int fbase = col0 + cin * 64 + 16 * t0 + g;
    if (col0 + cin * 64 >= p.n) return;
#pragma unroll
    for (int i = 0; i < NI; i++) {
      const int f = fbase + 16 * (HALF ? 2 * i + rank : i);
      float s0 = 1.f, s1 = 1.f;
      if (PER_CHANNEL) { s0 = channel_scale(p.s, f); s1 = channel_scale(p.s, f + 8); }
      if constexpr (NTOK == 16) {
#pragma unroll
        for (int jn = 0; jn < NTOK / 8; jn++) {
          const int tok = 8 * jn + 2 * q;
          if (tok < rows_left) {
            half* c = p.C + (long long)(row0 + tok) * p.n + f;
            c[0] = __float2half_rn(acc[i][4 * jn] * s0);
            c[8] = __float2half_rn(acc[i][4 * jn + 2] * s1);
          }
          if (tok + 1 < rows_left) {
            half* c = p.C + (long long)(row0 + tok + 1) * p.n + f;
            c[0] = __float2half_rn(acc[i][4 * jn + 1] * s0);
            c[8] = __float2half_rn(acc[i][4 * jn + 3] * s1);
          }
        }
      } else {
        const bool odd = g & 1, upper = (g >> 1) & 1;
        const int foff = 4 * (g >> 2) + 8 * upper;  // this lane's first feature in the 16 of a wgmma
#pragma unroll
        for (int jn = 0; jn < NTOK / 8; jn++) {
          const half2 t0v = __floats2half2_rn(acc[i][4 * jn] * s0, acc[i][4 * jn + 2] * s1);      // token 2q: g, g + 8
          const half2 t1v = __floats2half2_rn(acc[i][4 * jn + 1] * s0, acc[i][4 * jn + 3] * s1);  // token 2q + 1
          const half2 mine = odd ? t1v : t0v;  // even g keeps token 2q, odd g token 2q + 1
          const half2 other = as_half2(__shfl_xor_sync(0xffffffffu, as_u32(odd ? t0v : t1v), 4));
          const half2 lo = odd ? __halves2half2(__low2half(other), __low2half(mine))
                               : __halves2half2(__low2half(mine), __low2half(other));    // features 2 (g / 2) + 0, 1
          const half2 hi = odd ? __halves2half2(__high2half(other), __high2half(mine))
                               : __halves2half2(__high2half(mine), __high2half(other));  // the same + 8
          const uint32_t got = __shfl_xor_sync(0xffffffffu, as_u32(upper ? lo : hi), 8);
          const uint2 out = upper ? make_uint2(got, as_u32(hi)) : make_uint2(as_u32(lo), got);
          const int tok = 8 * jn + 2 * q + (odd ? 1 : 0);
          if (tok < rows_left)
            *reinterpret_cast<uint2*>(p.C + (long long)(row0 + tok) * p.n + (f - g) + foff) = out;
        }
      }
    }
  };

  // Partials in fragment order, one float4 per lane per (wgmma, 8 tokens): coalesced. A pair's
  // blocks each own half of their range's partial.
  auto partial_of = [&](int r) {
    return reinterpret_cast<float4*>(p.partials + (long long)r * T::PARTIAL + rank * (T::PARTIAL / 2));
  };
  // NI: wgmmas per warp in the layout (CH, or CH / 2 for half tiles).
  auto frag_index = [&](int ni, int i, int jn) { return ((warp * ni + i) * (NTOK / 8) + jn) * 32 + lane; };

  // A tile segment ended (see the tiled kernel's finish_tile: alone, write C; a later share,
  // store a partial and count in; the first share waits for the others and sums in order).
  auto finish_tile = [&](auto half_tag, int tile, int kit_begin, int kit_end) {
    constexpr bool HALF = decltype(half_tag)::value;
    constexpr int NI = HALF ? CH / 2 : CH;
    int row0, col0;
    tile_coords(tile, row0, col0);
    const int rows_left = p.m - row0;
    if (kit_begin == 0 && kit_end == p.k_iters) {
      write_c(half_tag, row0, col0, rows_left);
      return;
    }
    // One flag per range (its partial stored), a row of them per block of a pair, as in the
    // skinny summers: a summer sees the ranges that ended first without one count of the tile to
    // wait on. Same bits. H100, the release before and this in turn, three rounds: 70B set at
    // m = 16 171.3-171.7 -> 170.7-170.9 us, 7B at m = 32 61.9-62.1 -> 61.5-61.8, 7B at m = 16
    // level; but the small layers whose 16 x 256 summers read 5-7 partials lost (4096x4096 at
    // m = 16 6.5 -> 6.9-7.1, 3072x3072 5.8 -> 6.0; benchmarks/logs/s49/ship/).
    int* const flags = p.counters + rank * (p.blocks / stride);
    if (kit_begin > 0) {
      float4* mine = partial_of(range);
#pragma unroll
      for (int i = 0; i < NI; i++)
#pragma unroll
        for (int jn = 0; jn < NTOK / 8; jn++)
          if (8 * jn < rows_left)
            __stcg(mine + frag_index(NI, i, jn), make_float4(acc[i][4 * jn], acc[i][4 * jn + 1], acc[i][4 * jn + 2], acc[i][4 * jn + 3]));
      __syncthreads();
      if (tid == 0) count_in(flags + range);
      return;
    }
    const int last = (int)(((long long)tile * p.k_iters + p.k_iters - 1) / p.upb);
    constexpr int LOADS = NI * (NTOK / 8);  // float4 a lane reads per range
    constexpr bool ROUNDS = LOADS <= 4 && !HALF;
    if constexpr (!ROUNDS) {
      // Warp 0 sees every flag and re-arms them; the block barrier passes them on.
      if (warp == 0) {
        flags_seen_all(flags, range, last, lane);
      }
      MQ_TRACE_MARK(4);
      __syncthreads();
    }
    // Unpaired tiles of 4 float4 a lane per range or fewer (16 x 128, 16 x 256, 32 x 128): four
    // ranges' partials a round trip, the last round predicated, added in range order as before
    // (same bits). `#pragma unroll 2`
    // read 4096x4096's 7 partials at m = 16 in 4 trips (its one leftover range first); the 7B
    // set at m = 16 went 59.3-59.6 -> 57.6-57.9 us (H100, benchmarks/logs/h100_s33/). It takes
    // the kernel from 147 to 217 registers. Eight ranges a trip, or four on the larger tiles and
    // on pairs, spilled 0.1-3 KB (the summer's loads are live with the main loop's state), so
    // the other tiles keep the old loop.
    if constexpr (ROUNDS) {
      // Every warp waits for its round's four flags only (the skinny summers' rounds).
      constexpr int RANGES_IN_FLIGHT = 4;
      int ready = range;
#pragma unroll 1
      for (int r0 = range + 1; r0 <= last; r0 += RANGES_IN_FLIGHT) {
        ready = flags_seen(flags, ready, min(r0 + RANGES_IN_FLIGHT - 1, last), last, lane);
#ifdef MQ_TRACE
        if (r0 == range + 1) MQ_TRACE_MARK(4);
#endif
        float4 v[RANGES_IN_FLIGHT][NI][NTOK / 8];
#pragma unroll
        for (int j = 0; j < RANGES_IN_FLIGHT; j++) {
          const float4* part = partial_of(r0 + j);
#pragma unroll
          for (int i = 0; i < NI; i++)
#pragma unroll
            for (int jn = 0; jn < NTOK / 8; jn++)
              if (r0 + j <= last && 8 * jn < rows_left) v[j][i][jn] = __ldcg(part + frag_index(NI, i, jn));
        }
#pragma unroll
        for (int j = 0; j < RANGES_IN_FLIGHT; j++)
          if (r0 + j <= last)
#pragma unroll
            for (int i = 0; i < NI; i++)
#pragma unroll
              for (int jn = 0; jn < NTOK / 8; jn++)
                if (8 * jn < rows_left) {
                  const float4 x = v[j][i][jn];
                  acc[i][4 * jn] += x.x; acc[i][4 * jn + 1] += x.y; acc[i][4 * jn + 2] += x.z; acc[i][4 * jn + 3] += x.w;
                }
      }
    } else {
#pragma unroll 2
      for (int r = range + 1; r <= last; r++) {
        const float4* part = partial_of(r);
#pragma unroll
        for (int i = 0; i < NI; i++)
#pragma unroll
          for (int jn = 0; jn < NTOK / 8; jn++)
            if (8 * jn < rows_left) {
              const float4 v = __ldcg(part + frag_index(NI, i, jn));
              acc[i][4 * jn] += v.x; acc[i][4 * jn + 1] += v.y; acc[i][4 * jn + 2] += v.z; acc[i][4 * jn + 3] += v.w;
            }
      }
    }
#ifdef MQ_TRACE
    // The Hopper summer's partials added (the stamp after them: it takes one accumulator as an
    // input), then its C stores issued.
    asm volatile("" ::"f"(acc[0][0]));
    MQ_TRACE_MARK(8);
#endif
    write_c(half_tag, row0, col0, rows_left);
#ifdef MQ_TRACE
    MQ_TRACE_MARK(9);
#endif
    if constexpr (ROUNDS) {
      __syncthreads();  // every warp has seen every flag
      rearm_flags(flags, range, last, tid, T::NT);
    }
  };

  // Pairs, at a segment end: the wgmmas a block does not keep (2 i + 1 - rank) go to the other
  // block, into the two stages of its ring that no copy is in flight to (the one just multiplied
  // and the one before it; the next step refills the latter only after its block barrier). The
  // kept sums end in acc[0 .. CH / 2 - 1] (selects, so every index stays compile-time).
  [[maybe_unused]] auto pair_exchange = [&](int last_buf, int rows_left) {
    const int prev_buf = (last_buf + STAGES - 1) % STAGES;
    auto slot = [&](int i, int jn) -> uint32_t {
      const uint32_t off = frag_index(CH / 2, i, jn) * 16;
      return off < T::STAGE ? smem + prev_buf * T::STAGE + off : smem + last_buf * T::STAGE + (off - T::STAGE);
    };
    // The other block's wgmmas are done with those stages, and its cp.async writes into them
    // happen before our stores: a release, since a relaxed arrival leaves that write-after-write
    // unordered (~1% slower, benchmarks/logs/pairs/). racecheck reports the pair regardless: it
    // does not order DSMEM stores by cluster barriers (benchmarks/logs/racecheck_dsmem/).
    cluster_sync();
#pragma unroll
    for (int i = 0; i < CH / 2; i++)
#pragma unroll
      for (int jn = 0; jn < NTOK / 8; jn++)
        if (8 * jn < rows_left) {
          float v[4];
#pragma unroll
          for (int e = 0; e < 4; e++) v[e] = rank ? acc[2 * i][4 * jn + e] : acc[2 * i + 1][4 * jn + e];
          st_dsmem_v4(slot(i, jn), rank ^ 1, v[0], v[1], v[2], v[3]);
        }
    cluster_sync();
#pragma unroll
    for (int i = 0; i < CH / 2; i++)
#pragma unroll
      for (int jn = 0; jn < NTOK / 8; jn++) {
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (8 * jn < rows_left) v = ld_shared_v4(slot(i, jn));
        acc[i][4 * jn] = (rank ? acc[2 * i + 1][4 * jn] : acc[2 * i][4 * jn]) + v.x;
        acc[i][4 * jn + 1] = (rank ? acc[2 * i + 1][4 * jn + 1] : acc[2 * i][4 * jn + 1]) + v.y;
        acc[i][4 * jn + 2] = (rank ? acc[2 * i + 1][4 * jn + 2] : acc[2 * i][4 * jn + 2]) + v.z;
        acc[i][4 * jn + 3] = (rank ? acc[2 * i + 1][4 * jn + 3] : acc[2 * i][4 * jn + 3]) + v.w;
      }
  };

  // ---- the ring: weights and scales of the first stages before griddepcontrol.wait ----
  {
    const int tile0 = ld_tile, kit0 = ld_kit;
    for (int i = 0; i < PD && i < n_iters; i++) {
      load_stage(i, false, true);
      advance();
    }
    ld_tile = tile0;
    ld_kit = kit0;
    seek();
  }
  grid_dependency_wait();
  MQ_TRACE_MARK(1);
  grid_launch_dependents();
#pragma unroll
  for (int i = 0; i < PD; i++) {
    if (i < n_iters) {
      load_stage(i, true, false);
      advance();
    }
    cp_async_commit();
  }
  // One pipeline step: stage i has landed; request stage i + PD into the buffer of stage i - 2,
  // whose wgmmas every warpgroup has waited for (a stage ends with at most DEPTH - 1 < KS groups
  // outstanding, all its own); multiply stage i.
  auto step = [&](int i, auto first_tag) {
    cp_async_wait<PD - 1>();
    // The tensor cores (async proxy) read what cp.async wrote.
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    __syncthreads();
#ifdef MQ_TRACE
    if (i == 0) MQ_TRACE_MARK(5);
#endif
    // Unsigned: a stage count of 8 takes one AND, not a signed remainder's five uniform
    // instructions at the head of each stage's chain to its descriptors (with desc_lo0, the stage
    // loops lost 1-22 instructions; H100, m = 32: 7B set 66.3 -> 64.5 us, m = 16 55.8 -> 55.3;
    // the same bits; benchmarks/logs/s44/).
    if (i + PD < n_iters) {
      load_stage((unsigned)(i + PD) % STAGES, true, true);
      advance();
    }
    cp_async_commit();
    compute_stage((unsigned)i % STAGES, first_tag);
  };
  // Tile segments: the first stage is peeled so that one wgmma group is in flight on every edge
  // into the inner loop (ptxas otherwise drains the tensor pipe at every stage to reconcile them).
  int tile = first_tile;
  int kit = (int)(it_begin - (long long)first_tile * p.k_iters);  // where the (pair's) segment starts
  for (int i = 0; i < n_iters;) {
    const int seg = min((p.k_iters - kit) / stride, n_iters - i);
    step(i++, std::true_type{});
    for (int j = 1; j < seg; j++) step(i++, std::false_type{});
    wgmma_wait<0>();
    if constexpr (POST) fold();
#pragma unroll
    for (int c = 0; c < CH; c++) fence_operands(acc[c]);
#ifdef MQ_TRACE
    if (i == n_iters) MQ_TRACE_MARK(2);
#endif
    bool paired = false;
    if constexpr (KB == 2 && CH >= 2) {  // 128-column tiles never pair (plan_wgmma)
      if (p.pair) {
        int row0, col0;
        tile_coords(tile, row0, col0);
        pair_exchange((unsigned)(i - 1) % STAGES, p.m - row0);
#ifdef MQ_TRACE
        if (i == n_iters) MQ_TRACE_MARK(6);
#endif
        finish_tile(std::true_type{}, tile, kit, kit + 2 * seg);
        paired = true;
      }
    }
    if (!paired) finish_tile(std::false_type{}, tile, kit, kit + seg);
    tile++;
    kit = 0;
  }
  cp_async_wait<0>();
  MQ_TRACE_MARK(3);
#endif
}

// ------------------------------------------------------------------------------------------
// Host side
// ------------------------------------------------------------------------------------------

enum Error {
  kOk = 0,
  kBadPointer = -1,
  kBadShape = -2,
  kBadGroup = -3,
  kSmallWorkspace = -5,
  kOldArch = -6,
  kSmem = -7,
  kTooLarge = -8,
};

enum Kind { kTiled = 0, kSkinny = 1, kWgmma = 2 };

// Device features the planner may use (bit flags; mq_device_features reports them).
enum Feature { kFeatWgmma = 1 };

struct Plan {
  int kind;
  int m_blocks, ks, stages, wn, wk, m_chunks, n_slices, k_iters, blocks;
  long long total_iters, partial_floats;
  int counters;
  int smem;
  // Skinny path: token groups of 8, warps per block, chunks per tile, stripes per warp batch.
  int tb, nw, cw, d, tiles, upb, total;
  int pair;  // Hopper path: 1 where clusters of two blocks share each stream-K range
  int post;  // Hopper path: 1 where group scales apply after the MMA (wgmma_gemm_kernel's POST)
};

constexpr int kMaxTickets = 1 << 16;
constexpr int kSmemReserve = 1024;  // the driver keeps 1 KB of shared memory per block

int smem_bytes(int mb, int ks, int stages, int wn, int wk) {
  const int mt = 16 * mb, tk = 16 * ks, tn = 64 * wn;
  const int stage_vec = mt * tk / 8 + ks * tn / 2 + (tk / 32) * tn / 8;
  const int red = wk > 1 ? wn * mb * 32 * 32 * 4 : 0;
  return stages * stage_vec * 16 + (red <= stage_vec * 16 ? 0 : red);
}

// Tiled configurations, best first within a tile width: (WN, WK, KS, STAGES). Wide tiles (WN = 8,
// 512 columns) reuse each A fragment across 8 warps and take 8-stripe (32 KB) stages 4-5 deep
// on Hopper, 4-stripe stages on A100 and sm_86/89; the 16-warp option (two k-warps per column
// group) only for MB <= 2, whose accumulators fit 128 registers. Narrow tiles (4 x 2 and 2 x 4
// warps) take 16-stripe stages so that each warp still multiplies 4-8 stripes per barrier.
struct TiledConfig { int wn, wk, ks, stages; };
constexpr TiledConfig kTiledConfigs[] = {
    {8, 2, 8, 4}, {8, 1, 8, 5}, {8, 1, 8, 4}, {8, 1, 4, 6}, {8, 1, 4, 3}, {8, 1, 4, 2},
    {4, 2, 16, 4}, {4, 2, 16, 3}, {4, 2, 8, 3},
    {2, 4, 16, 4}, {2, 4, 16, 3}, {2, 4, 8, 3},
};

// The first configuration of tile width `wn` that fits.
bool pick_pipeline(int mb, int wn, int smem_optin, int smem_per_sm, TiledConfig* out) {
  for (const TiledConfig& c : kTiledConfigs) {
    if (c.wn != wn) continue;
    if (c.wn == 8 && c.wk > 1 && mb > 2) continue;  // 16 warps leave 128 registers a thread: too few for MB > 2
    // Two token blocks (m = 17-32), 256-column tiles: 3 stages beat 4 on every layer measured.
    if (mb == 2 && c.wn == 4 && c.ks == 16 && c.stages == 4) continue;
    const int bytes = smem_bytes(mb, c.ks, c.stages, c.wn, c.wk);
    if (bytes <= smem_optin && bytes + kSmemReserve <= smem_per_sm) {
      *out = c;
      return true;
    }
  }
  return false;
}

// Launch both kernels with programmatic dependent launch on sm_90+ (-DMQ_PDL=0: without).
#ifndef MQ_PDL
#define MQ_PDL 1
#endif

// Largest m the skinny path takes (compile with -DMQ_SKINNY_MAX_M=0 to measure without it), which
// is all the kernel supports. With the activations copied once per block it beats the tiled
// kernel at every m <= 8 on every Llama layer (H200, benchmarks/logs/skinny_shared_acts/: 7B set
// at m = 8 49.3 against 61.4 us, 70B 129.0 against 184.8). Two token groups (m = 9-16) were
// slower than the tiled kernel on most layers (KERNEL_NOTES.md).
#ifndef MQ_SKINNY_MAX_M
#define MQ_SKINNY_MAX_M 8
#endif
// Warps per skinny block. Eight take half the register file, so an SM holds two blocks (of this
// launch, or one of the next launch beside this one's; 16 warps were measured slower;
// benchmarks/KERNEL_NOTES.md).
constexpr int kSkinnyNW = 8;
// Stripes per warp batch: 4 KB of weights in flight per warp (more spills registers).
constexpr int kSkinnyD = 8;

// Shared memory of a skinny launch, for the largest scale footprint (g32) so that the plan does
// not depend on the group size (mirrors Skinny<>::SMEM).
int skinny_smem(int nw, int cw, int d) {
  return 2 * (nw / cw) * d * 256 + nw * 2 * (d / 2) * 128;
}

bool skinny_ranges(int n, int k, int per_sm, int force_cw, int sms, int smem_optin, int smem_per_sm, Plan* pl);

// Stripes of one tile that a skinny block's batch holds with `cw` chunks a tile: D a warp, over
// its chunk's k-warps.
constexpr int skinny_batch(int cw) { return kSkinnyNW / cw * kSkinnyD; }

bool plan_skinny(int m, int n, int k, int sms, int smem_optin, int smem_per_sm, int features, Plan* pl) {
  int max_m = MQ_SKINNY_MAX_M, per_sm = 0, force_cw = 0;
#ifdef MQ_EXPERIMENT
  // Diagnostic builds only: MQ_FORCE_SKINNY=max_m[,blocks per SM[,chunks per tile]].
  if (const char* env = getenv("MQ_FORCE_SKINNY")) sscanf(env, "%d,%d,%d", &max_m, &per_sm, &force_cw);
  if (force_cw != 2 && force_cw != 4 && force_cw != 8) force_cw = 0;
#endif
  if (m > max_m || m > 8) return false;
  if (!skinny_ranges(n, k, per_sm > 0 ? per_sm : 2, force_cw, sms, smem_optin, smem_per_sm, pl)) return false;
  // Where two blocks per SM would each stream a single batch (the whole layer in flight at once:
  // 4096x4096), they gain no depth, and filling the register file keeps the next launch's block
  // from starting beside them; one per SM then wins (4096x4096 at m = 1 / 4 / 8, the library
  // before and after in turn, two rounds: H100 7.2-7.3 / 7.7 / 7.9 -> 6.8 / 7.1 / 7.4 us, H200
  // 6.7-6.8 / 7.2 / 7.8 -> 6.4-6.5 / 6.7 / 7.3; benchmarks/logs/h100_s31/, h200_s31/). Hopper
  // only: the next launch's block starts early through programmatic dependent launch (sm_90),
  // and kFeatWgmma stands for sm_90 here.
  // The ranges at one per SM must be whole batches: 3072x3072 (40 stripes, a batch and a quarter)
  // lost 0.2-0.4 us with one per SM on both GPUs (benchmarks/logs/h100_s31/, h200_s31/).
  if (per_sm <= 0 && (features & kFeatWgmma) && pl->upb <= skinny_batch(pl->cw)) {
    Plan one = *pl;
    if (skinny_ranges(n, k, 1, force_cw, sms, smem_optin, smem_per_sm, &one) && one.upb % skinny_batch(one.cw) == 0)
      *pl = one;
  }
  return true;
}

// Stripes of a skinny block's stream-K range, for `total` (tile, stripe) units over at most
// `blocks` blocks. Ranges start at multiples of 8 stripes (k is a multiple of the group size, so
// tiles are too): every batch then holds whole scale groups (see Skinny<>::SPG).
long long range_stripes(long long total, long long blocks) {
  long long upb = (total + blocks - 1) / blocks;
  if (upb < 16) upb = 16;
  return (upb + 7) / 8 * 8;
}

// The skinny plan's tiles and stream-K ranges at per_sm blocks of a launch per SM (force_cw:
// chunks per tile, 0 for the planner's choice).
bool skinny_ranges(int n, int k, int per_sm, int force_cw, int sms, int smem_optin, int smem_per_sm, Plan* pl) {
  // Two blocks of this launch per SM keep 64 KB of weights in flight instead of 32 KB, which the
  // H200's HBM3e needs (70B set at m = 1: 153.5 -> 128.9 us; 8192x57344 78.3 -> 65.3); they fill
  // the register file, so the next launch's block no longer starts beside them (PDL still starts
  // it as they retire). Once the activations were copied once per block, two were faster on
  // every Llama layer at every m <= 8 but 4096x4096 at m = 1-2 (0.1-0.4 us slower; before, the
  // k = 4096 layers lost at m = 3-4: the per-warp activation copies;
  // benchmarks/logs/skinny_shared_acts/). On an H100 too, one per SM lost on every 7B and 70B
  // layer but 4096x4096 (plan_skinny; benchmarks/logs/h100_s28/c1/skinny1/).
  pl->kind = kSkinny;
  pl->tb = 1;
  pl->d = kSkinnyD;
  pl->nw = kSkinnyNW;
  const int n_chunks = n / 64, stripes = k / 16;
  // Chunks per tile (the block's 8 warps are that many chunks times 8 / chunks k-warps): four,
  // unless four-chunk tiles would be shared by fewer than 2 or more than 10 blocks. A batch copies
  // the activations of its k-warps' stripes for 32 KB of weights (16 stripes with four chunks, 32
  // with two), which at m = 8 cost the two-chunk plans 1-2 us on 8192x8192 and 28672x8192; with
  // eight chunks a tile's k is split over more blocks, whose partials its summer adds (4096x22016:
  // 0.4-0.6 us). Eight where four-chunk tiles outnumber half the blocks (8192x57344), two where
  // fewer than a tenth (the n = 4096 layers) unless the ranges are long (below). H200:
  // benchmarks/logs/skinny_cw/.
  const long long blocks_max = (long long)per_sm * sms;
  auto wasteful = [&](int cw) {  // more than a fifth of the warps without a chunk
    const long long slots = (long long)(n_chunks + cw - 1) / cw * cw;
    return 5 * (slots - n_chunks) > slots;
  };
  // Where four-chunk tiles would give every block three batches or more, four stay also when a
  // tile is shared by more than ten blocks: the block's fixed costs (its segment end, its
  // partial) are then spread thin, and the four-chunk batch is the cheaper one (the activations
  // of 16 stripes instead of 32, two k-warps to hand off instead of four). H100, m = 1 / 4 / 8,
  // three rounds: 11008x4096 11.7-11.8 / 11.9 / 12.2 us against 12.1-12.2 / 12.4-12.5 / 13.1-13.2
  // with two chunks; 8192x3072 (one and a half batches) stays faster with two, 8.7 / 8.9 / 9.5
  // against 9.1-9.2 / 9.3 / 9.6 (benchmarks/logs/h100_s31/sweep_chunks*.log).
  const long long tiles4 = (n_chunks + 3) / 4;
  const bool long_ranges4 = range_stripes(tiles4 * stripes, blocks_max) >= 3 * skinny_batch(4);
  int choice = 4;
  if (2 * tiles4 > blocks_max && !wasteful(8)) choice = 8;
  else if ((10 * tiles4 < blocks_max && !long_ranges4) || wasteful(4)) choice = 2;
  pl->cw = force_cw ? force_cw : choice;
  pl->smem = skinny_smem(pl->nw, pl->cw, pl->d);
  if (pl->smem > smem_optin || pl->smem + kSmemReserve > smem_per_sm) return false;
  const long long tiles = (n_chunks + pl->cw - 1) / pl->cw;
  const long long total = tiles * stripes;
  if (total > 0x3fffffffLL) return false;
  const long long upb = range_stripes(total, blocks_max);
  pl->tiles = (int)tiles;
  pl->total = (int)total;
  pl->upb = (int)upb;
  pl->blocks = (int)((total + upb - 1) / upb);
  if (pl->blocks > kMaxTickets) return false;
  pl->counters = pl->blocks;  // one flag per range (the summers read them; see skinny_gemm_kernel)
  pl->partial_floats = (long long)pl->blocks * pl->cw * 512 * pl->tb;  // one partial per range
  pl->m_blocks = pl->tb;
  pl->stages = 2;
  pl->ks = pl->d;
  return true;
}


// Hopper path configurations, (token tile, wgmmas per stripe, stages, 64-k atoms per stage),
// mirrored by WgTile<>::SMEM. Within a tile shape, 128-k stages (half the block barriers) come
// first; 64-k stages serve k that is not a multiple of 128. Measured on H200
// (benchmarks/logs/wgmma/sweep2.log): 128-k stages 5-13% faster at m = 128-256. 32-token tiles
// have 128-k stages only (k not a multiple of 128 takes the tiled kernel at m = 17-32); their
// stage counts are the faster of those measured (benchmarks/logs/h200_s21/: 32 x 512 with 4
// stages against 5, 32 x 256 with 8).
struct WgConfig { int ntok, ch, stages, kb; };
constexpr WgConfig kWgConfigs[] = {{128, 2, 4, 2}, {128, 2, 6, 1}, {64, 4, 4, 2}, {64, 4, 6, 1},
                                   {64, 2, 6, 2}, {64, 2, 8, 1}, {32, 4, 4, 2}, {32, 2, 8, 2}, {16, 4, 4, 2},
                                   // 16 x 256: groups of 128 only (built with scales after the
                                   // MMA); 16 x 128: every group size (after the MMA with 128)
                                   {16, 2, 8, 2}, {16, 1, 4, 2},
                                   // 32 x 128: every group size (after the MMA with 128)
                                   {32, 1, 6, 2},
#ifdef MQ_EXPERIMENT
                                   // 16 x 512 with a fifth stage: faster only on 28672x8192 (H100).
                                   {16, 4, 5, 2},
                                   // 128-column tiles with other stage counts (benchmarks/logs/s44/)
                                   {32, 1, 8, 2}, {32, 1, 12, 2}, {16, 1, 16, 2},
                                   // 16 x 128 of eight stages, one block an SM (the release before's)
                                   {16, 1, 8, 2}
#endif
};

// The tiles built with group scales after the MMA (POST; 128-k stages, groups of 128). The
// 64 x 512 and 128-token tiles have no registers for the stage set; 64 x 256 takes 255 without
// spilling, 32 x 512 spilled 264 bytes (and ran the 70B set at m = 32 a third slower).
bool wg_post_built(const WgConfig& c) {
  if (c.kb != 2) return false;
  if ((c.ntok == 64 && c.ch == 2 && c.stages == 6) || (c.ntok == 32 && c.ch == 2 && c.stages == 8) ||
      (c.ntok == 16 && c.ch == 2 && c.stages == 8) || (c.ntok == 16 && c.ch == 4 && c.stages == 4) ||
      (c.ntok == 16 && c.ch == 1 && c.stages == 4) || (c.ntok == 32 && c.ch == 1 && c.stages == 6))
    return true;
#ifdef MQ_EXPERIMENT
  if (c.ch == 1) return true;
  // Diagnostic builds only, with MQ_WG_POST=1: 32 x 512.
  const char* env = getenv("MQ_WG_POST");
  if (env != nullptr && atoi(env) == 1) return c.ntok == 32 && c.ch == 4 && c.stages == 4;
#endif
  return false;
}

int wg_smem(int ntok, int ch, int stages, int kb) {
  const int f = 2 * ch * 64;
  const int stage = (kb * ntok * 128 + 4 * kb * f * 8 + 2 * kb * f * 2 + 1023) / 1024 * 1024;
  return stages * stage + 1024;
}

// Smallest m the Hopper path takes on every layer (where the GPU and the library have it). At
// m = 32, 32-token tiles beat the tiled kernel on every Llama-2 layer (7B set 71.2 against 77.2
// us, 70B 214.6 against 235.0, with the tiles this planner picks); at m = 16 they lost on six of
// eight layers (7B set 67.1-69.8 against 63.2). m = 17-32 pads to 32 tokens in both kernels (H200,
// benchmarks/logs/h200_s21/). m = 9-16 takes 16-token tiles on the large layers only (plan_wgmma).
#ifndef MQ_WGMMA_MIN_M
#define MQ_WGMMA_MIN_M 17
#endif

// Largest cluster size device_clusters reports on (the portable limit).
constexpr int kMaxCluster = 8;

bool plan_wgmma(int m, int n, int k, int groupsize, int sms, int smem_optin, int smem_per_sm, int features,
                const int* clusters, Plan* pl, int* err) {
  *err = kOk;
  int min_m = MQ_WGMMA_MIN_M;
  // Groups of 128 on 128-k stages may take the tiles built with scales after the MMA.
  bool post = groupsize == 128 && k % 128 == 0;
#ifdef MQ_EXPERIMENT
  // Diagnostic builds only: MQ_WG_POST=0 keeps the scales before the MMA everywhere.
  if (const char* env = getenv("MQ_WG_POST")) post = post && atoi(env) != 0;
  // Diagnostic builds only: MQ_WG_MIN_M=9 lets the Hopper path take m = 9-16 on every layer; a
  // tile forced by MQ_FORCE_WG (below) applies from m = 9, so that a sweep's "plan" keeps the
  // release's size rule while its forced tiles run everywhere.
  if (const char* env = getenv("MQ_WG_MIN_M")) min_m = atoi(env) > 0 ? atoi(env) : min_m;
  if (const char* env = getenv("MQ_FORCE_WG")) min_m = env[0] != 'o' && min_m > 9 ? 9 : min_m;
#endif
  // Below min_m (m = 9-16; the skinny kernel takes m <= 8), 16-token tiles on every layer whose
  // k is a multiple of 128 (only 128-k stages are built for them). With group scales in the loop
  // (groups of 32 / 64, per channel): 16 x 512 on layers above 2^26 weights, 1-4 us a layer
  // faster than the tiled kernel there (H200, same-process sweep at m = 9, 12 and 16: the 70B set
  // 172.8-177.6 us against 178.0-186.2; benchmarks/logs/h200_s25/), and 16 x 128 at two blocks an
  // SM up to 2^26 (below), where 16 x 512 had lost 0.6-1.4 us a layer to the tiled kernel (8192x8192,
  // exactly 2^26, level: 17.4-17.5 us on 16 x 512, 17.3-17.5 on 16 x 128; benchmarks/logs/s51/).
  // Groups of 128 with their scales after the MMA take 16-token tiles on every layer: 16 x 256
  // below 2^27 weights, 16 x 512 from there (H100, m = 16: 7B set 59.4 us against 60.9 with
  // 16 x 512 from 2^26 and the tiled kernel below, 70B 174.1 against 175.0; per layer 4096x12288
  // 14.6 against 15.8, 8192x10240 20.9 against 22.2, 4096x4096 8.5 against 8.4;
  // benchmarks/logs/h100_s28/).
  const long long weights = (long long)k * n;
  const bool few_tokens = m > 8 && m < min_m && k % 128 == 0;
  if (!(features & kFeatWgmma) || (m < min_m && !few_tokens)) return false;
  // Tile shapes (token rows, wgmmas per stripe), widest first: 128 x 256 above m = 64, 64 x 512
  // at m = 33-64, 32 x 512 at m = 17-32, 16 x 512 below; then 64 x 256 (32 x 256 at m = 17-32),
  // for layers too narrow to give every SM a share of the wide tiles. 16-token tiles have one
  // shape per layer (above).
  // Groups of 128 at m = 33-64 take 64 x 256 tiles, whose scales apply after the MMA, on every
  // layer: faster than the 64 x 512 / 64 x 256 plan before them on each Llama-2 layer (H100,
  // same process: 7B set 87.8 us against 91.0-94.1, 70B 266.9 against 283.1-305.0; 8192x57344
  // 141.7 against 149.7-161.7; benchmarks/logs/h100_s28/). So do m = 17-32 with 32 x 256 tiles,
  // which changes only the two largest 70B layers' plans (from 32 x 512): 70B set medians 196.3
  // -> 192.6 us at m = 24, 202.8 -> 201.1 at m = 32 (28672x8192 5% faster at both), 185.8 ->
  // 186.9 at m = 17 (H100, three rounds; benchmarks/logs/h100_s36/p32/); layers of n < 8192
  // take 32 x 128 instead (below).
  const int ntok = m > 64 ? 128 : m > 32 ? 64 : m > 16 ? 32 : 16;
  int wide = ntok == 128 ? 2 : 4;
  if (post && (ntok == 64 || ntok == 32 || (ntok == 16 && weights < (1LL << 27)))) wide = 2;
  // Below 2^25 weights (4096x4096, 8192x3072, 3072x5120) the summers, not the weights, are most
  // of a 16-token launch: 16 x 128 tiles, twice the tiles, so each summer reads about half the
  // partials (H100, m = 12 / 16, both with the descriptors built once a stage, two rounds:
  // 4096x4096 8.2 -> 6.5-6.6 us, 3072x5120 7.8-7.9 -> 6.7-6.8, 8192x3072 11.0 -> 10.7, 3072x3072
  // 6.1-6.2 -> 5.8-5.9; the 7B set 57.0 -> 55.3 at m = 16; benchmarks/logs/s43/cand/). From 2^25
  // up they stream the weights, where their extra instructions a weight cost a tenth or more
  // (H200: 11008x4096 13.8 -> 15.0, 4096x12288 13.6 -> 16.0; benchmarks/logs/h200_s42/ch16/).
  // Built for two blocks an SM (wg_blocks_per_sm), they win up to 2^26 weights, 8192x8192
  // included; above, the wide layers stream faster on one block of 16 x 256 / 16 x 512 (H100, one
  // process, two rounds, us at m = 9 / 16, the plan / 16 x 128 at two blocks: 8192x10240 19.6 /
  // 18.9 and 19.7 / 19.1-19.9, 4096x22016 20.1-20.2 / 20.2-20.5, 28672x8192 44.7-45.2 /
  // 46.9-48.6, 8192x57344 86.3-87.4 / 96.2-100.1; benchmarks/logs/s50/).
  // So do the other group sizes, with their scales in the loop (126 / 121 registers, no spill),
  // against the tiled kernel on these layers (H100, one process, us at m = 9 / 16, the tiled
  // kernel / 16 x 128: groups of 64 4096x12288 15.9 / 13.7, 11008x4096 15.1 / 13.0-13.1, 8192x3072
  // 11.2 / 9.3-9.4, 4096x4096 8.4-8.6 / 7.1; per channel 4096x12288 14.5 / 11.8-11.9, 11008x4096
  // 14.2 / 11.3-11.4; 7B set at m = 16, groups of 64 / 32 / per channel, 61.2 / 56.0, 63.0 / 58.2,
  // 58.1 / 49.7; the larger 4096x22016 keeps 16 x 512: 21.1-21.8 / 21.7-22.1 with groups of 64;
  // benchmarks/logs/s51/occg/).
  if (ntok == 16 && weights <= (1LL << 26)) wide = 1;
  // At m = 17-32 the 128-column tile (32 x 128, six stages, never paired) wins on the layers
  // with fewer than 32 tiles of 256 columns, 11008x4096 included, and loses where n is wide (H100,
  // one process, two rounds, us, 32 x 256 / 32 x 128 at m = 32: 4096x4096 9.5 / 7.9, 11008x4096
  // 16.9 / 15.9-16.0, 8192x3072 13.6 / 11.0, 3072x5120 8.9 / 7.8, 3072x3072 7.8 / 6.8;
  // 4096x12288 16.1 / 16.9, 3072x16384 15.4 / 15.8, 4096x22016 23.9 / 28.2-28.5; n from 5120 to
  // 12288 not measured; benchmarks/logs/s44/). Eight stages were level or up to 0.3 us slower.
  // From 3 x 2^24 weights the narrow layers stream long enough that the narrow tile's extra
  // instructions a weight cost more than its shorter summers save (H100, one process, two
  // rounds, 32 x 256 / 32 x 128 at m = 17 / 24 / 32, us: 14336x4096 18.1 / 19.3-19.4, 18.1 /
  // 19.4-19.5, 18.7 / 19.6; 18944x3584 20.4-20.5 / 22.5, 20.4 / 22.5, 21.1-21.4 / 22.6-22.9;
  // the H200 the same way. 11008x4096, 2^25.4 weights, below the bound: 15.8 / 15.9-16.2 at
  // m = 17-24, 16.7-16.9 / 16.3 at m = 32; benchmarks/logs/s45/).
  // The other group sizes, with their scales in the loop (176 registers with groups, 168 per
  // channel, no spill), follow the same rule against their 32 x 512 / 32 x 256 plan (H100, one
  // process, us at m = 17 / 32, the plan / 32 x 128, groups of 64: 4096x4096 9.7 / 8.2, 10.4 /
  // 8.4; 8192x3072 13.4 / 11.5, 14.3 / 11.6; 11008x4096 17.5 / 17.1, 18.2 / 17.6; per channel
  // 11008x4096 15.6 / 14.1, 16.3 / 14.3; the wide layers lose: 4096x12288 17.2 / 18.6, 17.4 / 18.5
  // with groups of 64, 4096x22016 21.3 / 24.6 per channel; benchmarks/logs/s51/c32g/).
  if (ntok == 32 && n < 8192 && weights < (3LL << 24)) wide = 1;
  int shapes[2][2] = {{ntok, wide}, {ntok == 128 ? 64 : ntok, 2}};
  int force_stages = 0, force_kb = 1, n_shapes = ntok == 16 || wide == 1 ? 1 : 2;
  // m = 129-256 with groups of 128 below 2^25 weights: 64 x 256 tiles (scales after the MMA), which
  // give such a layer twice the tiles of 128 x 256 (H100, one process, two rounds, us at m = 256,
  // 128 x 256 plan / 64 x 256: 3584x3584 24.3-25.7 / 18.9, 3584x4608 27.3-29.8 / 22.8, 4096x4096
  // 23.2-24.9 / 22.0, 4096x6144 33.5-35.9 / 30.0-32.7; deep or wide layers lose, 18944x3584
  // 77.5-77.6 / 82.0-84.1, 4096x28672 127.6-128.4 / 145.8-147.6; benchmarks/logs/s45/wide/).
  // This rule against the plan before it (H200, one process each, two rounds, us, before / after:
  // 3584x4608 24.0-24.3 / 18.8-18.9 at m = 129, 27.8-28.6 / 23.3-23.4 at m = 256; 3072x5120
  // 23.6-24.2 / 18.4-18.7 at m = 129; 4096x4096 23.2-26.4 / 19.9-20.1 at m = 129; 3072x3072
  // level; 8192x3072 27.0-27.1 / 27.3-27.5 at m = 129, 35.2 / 34.1-34.2 at m = 256; set totals at
  // m = 256: Qwen2-7B 265.7-266.7 / 254.2-256.8, Llama-3.2-3B 130.1-130.7 / 123.5-124.2;
  // benchmarks/logs/s46/s128/). Not measured at m = 65-128, where the plan already gives the
  // benchmark sets' small layers 64 x 256 but would change wider ones (2048x8192).
  // The other group sizes, with their scales in the loop, the same way (H100, one process, us at
  // m = 129 / 256, 128 x 256 / 64 x 256: groups of 64 3072x5120 24.4 / 19.0, 28.6 / 23.6;
  // 4096x4096 22.6 / 20.5, 24.4 / 23.6; 8192x3072 30.3 / 29.7, 36.5 / 35.5; per channel 3072x5120
  // 24.0 / 16.6, 27.7 / 21.1; 4096x4096 21.4 / 18.1, 23.7 / 21.1; 3072x3072 level; from 2^25 up
  // the wide layers lose at m = 256: 4096x12288 53.6 / 65.4 with groups of 64, 48.1 / 55.4 per
  // channel; benchmarks/logs/s52/w64g/). 64-k stages (k not a multiple of 128) were not measured.
  // Against the plan before it (H100, one process each, two rounds, us, before / after: 3584x3584
  // per channel at m = 256 24.4-24.6 / 18.0-18.8, 3072x5120 with groups of 32 at m = 129
  // 23.9-24.3 / 19.1-19.6; 4096x4096 with groups of 32 / 64 at m = 256 loses about 1 us, 23.0-23.4
  // / 23.9-24.8; benchmarks/logs/s53/final/, ab2/).
  // Per channel the 64-token tile also wins at m = 129-192 (three 64-token blocks) from 2^25 up
  // to 3 x 2^25 weights (H100, one process, us at m = 129 / 160 / 192, 128 x 256 plan / 64 x 256:
  // 4096x12288 42.9 / 37.2, 43.8 / 44.8, 52.8 / 50.0; 11008x4096 42.0 / 35.7, 42.7 / 35.4,
  // 45.2 / 42.5; 4096x22016 75.8 / 62.7, 80.1 / 78.1, 83.6 / 77.5; 8192x10240 71.5 / 57.0,
  // 73.0 / 67.4, 88.5 / 70.3; 14336x4096 57.4 / 44.6, 51.4 / 44.7, 61.0 / 51.2; 18944x3584
  // 58.0 / 56.1, 60.7 / 57.5, 70.9 / 63.0; above, 4096x28672 94.4 / 98.4 at m = 129 and
  // 28672x8192 172.8 / 212.1; at m = 256 14336x4096 57.5 / 61.1, 8192x8192 62.4 / 68.6;
  // benchmarks/logs/s53/sweep2/). With groups the same layers lose (4096x22016 with groups of 64
  // 75.8 / 85.2 at m = 129). Against the plan before it (H100, one process each, two rounds, us,
  // before / after: 11008x4096 42.3-42.5 / 35.4-35.5 at m = 129, 8192x10240 77.2-80.7 /
  // 69.3-71.5 at m = 192, the 7B set 180.3-181.3 / 158.9-159.6 at m = 129; 8192x8192 loses at
  // m = 192, 57.6-58.4 / 59.2-60.8; benchmarks/logs/s53/pc/).
  // Groups of 128 (scales after the MMA) the same way (H100, one process, one round, us at m = 129 /
  // 160 / 192, 128 x 256 plan / 64 x 256: 4096x12288 44.6 / 39.6, 46.1 / 42.5, 48.5 / 44.5;
  // 11008x4096 46.3 / 39.1, 44.6 / 39.9, 47.3 / 41.4; 8192x10240 73.1 / 68.3, 84.6 / 70.4, 79.3 /
  // 71.1; 14336x4096 51.7 / 49.5, 53.7 / 49.8, 56.5 / 53.4; 18944x3584 60.5 / 57.3, 64.0 / 59.7,
  // 69.4 / 66.3; 8192x8192 mixed; above 3 x 2^25, 8192x57344 375.6 / 388.5 at m = 129;
  // benchmarks/logs/s54/owed1/). Against the plan before it (H100, one round, us, before / after:
  // 11008x4096 44.6 / 38.8, 45.3 / 40.3, 46.9 / 41.9; 8192x10240 70.6 / 64.0, 79.1 / 67.9, 85.4 /
  // 74.7; 8192x8192 55.7 / 54.0, 56.6 / 56.7, 63.7 / 62.9; the 7B set 186.1 / 170.5, 192.5 / 181.1,
  // 203.1 / 190.3; benchmarks/logs/s54/one/).
  // Below 2^25 weights, per channel and with groups of 128, 64-token tiles also win past m = 256,
  // where 128-token ones give such a layer a third to a half of the SMs' tiles (H100, one process,
  // one round, per channel, us at m = 257 / 320 / 385 / 448, 128 x 256 plan / 64 x 256: 4096x4096
  // 32.0 / 24.1, 34.9 / 25.3, 34.1 / 31.5, 33.2 / 31.3; 3584x4608 32.1 / 24.1, 33.0 / 25.1, 36.8 /
  // 31.1, 41.3 / 32.0; 4096x6144 39.8 / 32.9, 41.6 / 35.3, 47.6 / 46.8, 48.7 / 48.9;
  // benchmarks/logs/s54/file/; groups of 128 against the plan before it, one round, us at m = 257 /
  // 320 / 448: 3072x3072 25.0 / 17.6, 25.4 / 18.1, 29.0 / 21.8; 3584x4608 32.6 / 25.3, 33.7 / 26.9,
  // 36.2 / 34.2; 8192x3072 43.1 / 35.7, 42.3 / 38.3, 55.3 / 54.5; benchmarks/logs/s54/one/). Groups
  // of 64 and 32 (scales before the MMA) win there only up to five 64-token blocks, m = 320 (H100,
  // one process, two or three rounds, 64 x 256 / 128 x 256 plan at m = 257 / 320 / 384, groups of
  // 64: 3584x3584 0.79 / 0.81 / 0.87, 4096x4096 0.86 / 0.84 / 0.88, 4096x6144 0.97 / 0.96 / 1.06,
  // 8192x3072 0.95 / 0.99 / 1.05, 2048x8192 0.99 / 0.94 / 1.04; groups of 32 alike; at m = 416-512
  // 4096x4096 1.06-1.16 and 2048x8192 1.25-1.28; from 2^25, 4096x14336 1.04 / 1.12 / 1.23;
  // benchmarks/logs/s55/g6432_table.txt). Against the plan before it (H100, one round, us, before /
  // after at m = 257 / 288 / 320, groups of 64: 3072x3072 25.1 / 19.8, 25.3 / 19.9, 25.3 / 20.4;
  // 4096x4096 33.3 / 29.3, 32.2 / 30.0, 34.2 / 30.4; 8192x3072 42.1 / 41.1, 43.0 / 42.0, 43.4 /
  // 44.8; benchmarks/logs/s55/ship/).
  const bool post_or_channel = groupsize == -1 || groupsize == 128;
  const int max_m64 = weights < (1LL << 25)                        ? (post_or_channel ? 448 : 320)
                      : post_or_channel && weights < (3LL << 25) ? 192
                                                                   : 0;
  if (m > 128 && m <= max_m64 && k % 128 == 0) {
    shapes[0][0] = 64;
    shapes[0][1] = 2;
    n_shapes = 1;
  }
#ifdef MQ_EXPERIMENT
  // Diagnostic builds only: MQ_FORCE_WG=off (the tiled kernel) or ntok,ch,stages[,kb].
  if (const char* env = getenv("MQ_FORCE_WG")) {
    if (env[0] == 'o') return false;
    int a = 0, b = 0, c = 0, d = 1;
    if (sscanf(env, "%d,%d,%d,%d", &a, &b, &c, &d) >= 3) {
      shapes[0][0] = a; shapes[0][1] = b; force_stages = c; force_kb = d; n_shapes = 1;
    }
  }
#endif
  auto fits = [&](int bytes) { return bytes <= smem_optin && bytes + kSmemReserve <= smem_per_sm; };
  // The widest tile that still leaves every SM a fifth of a tile (half a tile for tiles of 32
  // and 64 tokens), or 32 stages of 64 k, enough to amortise the partial a split tile costs
  // (H200: 28672x8192 at m = 64 80.8 us with 512 columns against 83.6 with 256; 4096x4096 at
  // m = 128 18.2 us with 64 x 256 tiles against 25.2 with 128 x 256; 4096x22016, 43 tiles of
  // 512 columns, at m = 32 / 33 / 64 25.8 / 30.0 / 32.6 us with 256 columns against 27.1 / 32.7 /
  // 36.7 with 512, while 8192x57344, 112 tiles, wants 512 columns: 112.3 against 118.9 at m = 32,
  // 127.3 against 138.0 at m = 33; benchmarks/logs/h200_s21/).
  const WgConfig* cfg = nullptr;
  for (int i = 0; i < n_shapes; i++) {
    const WgConfig* pick = nullptr;
    for (const WgConfig& c : kWgConfigs) {
      if (c.ntok != shapes[i][0] || c.ch != shapes[i][1] || k % (64 * c.kb)) continue;
      if (force_stages && (c.stages != force_stages || c.kb != force_kb)) continue;
      if (!fits(wg_smem(c.ntok, c.ch, c.stages, c.kb))) continue;
      pick = &c;
      break;
    }
    if (pick == nullptr) continue;
    cfg = pick;
    const long long tiles = (long long)((m + pick->ntok - 1) / pick->ntok) * ((n + 128 * pick->ch - 1) / (128 * pick->ch));
    if ((pick->ntok == 128 ? 5 : 2) * tiles >= sms || tiles * (k / 64) >= 32LL * sms) break;
  }
  if (cfg == nullptr) return false;
  // Blocks an SM the stream-K ranges are dealt to: the tile's build, where two fit the SM's
  // shared memory.
  const int per_sm = wg_blocks_per_sm(cfg->ntok, cfg->ch, cfg->stages) == 2 &&
                             2 * (wg_smem(cfg->ntok, cfg->ch, cfg->stages, cfg->kb) + kSmemReserve) <= smem_per_sm
                         ? 2
                         : 1;
  pl->kind = kWgmma;
  pl->post = post && wg_post_built(*cfg) ? 1 : 0;
  pl->m_blocks = cfg->ntok / 16;
  pl->wn = cfg->ch;
  pl->ks = 4 * cfg->kb;
  pl->stages = cfg->stages;
  pl->smem = wg_smem(cfg->ntok, cfg->ch, cfg->stages, cfg->kb);
  pl->m_chunks = (m + cfg->ntok - 1) / cfg->ntok;
  pl->n_slices = (n + 128 * cfg->ch - 1) / (128 * cfg->ch);
  pl->k_iters = k / (64 * cfg->kb);
  const long long tiles = (long long)pl->m_chunks * pl->n_slices;
  if (tiles > 0x7fffffffLL) { *err = kTooLarge; return true; }
  pl->total_iters = tiles * pl->k_iters;
  if (tiles > kMaxTickets || tiles >= 4LL * sms) {
    pl->blocks = (int)tiles;
    pl->upb = pl->k_iters;
    pl->counters = 0;
    pl->partial_floats = 0;
  } else {
    if (pl->total_iters > 0x7fffffffLL) { *err = kTooLarge; return true; }
    // Stream-K ranges, run by pairs of blocks (clusters of two; see "Pairs" in the kernel) where
    // the stages split evenly (128-k stages, an even count per tile) and the summers' reads are
    // worth it: a tile's fp32 partial (KB) times the extra ranges per tile at least 128. Pairs
    // pay a hand-over at every segment end and run half as many ranges; they lost up to 7 us
    // where tiles outnumber the SMs (8192x57344 at m = 64) and 3-9 us at 1.5-1.7 ranges per
    // 128 KB tile (4096x22016 at m = 128, 8192x10240 at m = 256), and won 2-12 us from two
    // ranges per tile up (H200, benchmarks/logs/pairs/). clusters[2]: clusters of two the GPU
    // runs at once.
    // Not on 16 x 256 tiles, nor on 32-token tiles over k >= 8192: single blocks were faster on
    // every such layer measured (H100, the same kernels, two rounds each: 3072x3072 and
    // 8192x3072 at m = 16 6.2 / 11.1 us against 7.1 / 12.7 paired, 11008x4096 and 8192x3072 at
    // m = 24 15.9 / 12.7 against 16.5-16.6 / 13.2, at m = 32 16.7-16.8 / 13.5 against 17.4 /
    // 14.1-14.2), while the pairs of 32-token tiles at k <= 4096 (4096x4096 9.5 against 10.1 at
    // m = 32, 3072x5120 8.9 against 9.5) and of 16 x 512 tiles (28672x8192 45.9 against 46.6 at
    // m = 16) stay ahead; benchmarks/logs/h100_s37/pairs/. 128-column tiles (16 x 128, 32 x 128),
    // narrower still, are built without the pairs' hand-over.
    const bool pairs_lose = cfg->ch == 1 || (cfg->ntok == 16 && cfg->ch == 2) || (cfg->ntok == 32 && k >= 8192);
    const long long partial_kb = cfg->ntok * cfg->ch / 2;
    bool pair = clusters != nullptr && cfg->kb == 2 && pl->k_iters % 2 == 0 && clusters[2] >= 1 && !pairs_lose &&
                partial_kb * (sms - tiles) >= 128 * tiles;
    bool forced_pair = false;
#ifdef MQ_EXPERIMENT
    // Diagnostic builds only: MQ_FORCE_PAIR=0 runs single blocks; =2 pairs wherever the kernel has
    // the hand-over (256- and 512-column tiles, an even count of 128-k stages), whatever the rules.
    if (const char* env = getenv("MQ_FORCE_PAIR")) {
      forced_pair = atoi(env) == 2 && clusters != nullptr && cfg->kb == 2 && cfg->ch >= 2 && pl->k_iters % 2 == 0 &&
                    clusters[2] >= 1;
      pair = forced_pair || (pair && atoi(env) != 0);
    }
#endif
    // Stages a range, for pairs (an even count) or single blocks.
    auto range_iters = [&](bool paired) {
      long long slots = paired ? (clusters[2] < sms / 2 ? clusters[2] : sms / 2) : (long long)sms * per_sm;
      // A flag a block (the summers read them): never more blocks than a workspace holds.
      const long long most = paired ? kMaxTickets / 2 : kMaxTickets;
      if (slots > most) slots = most;
      long long ranges = slots < pl->total_iters ? slots : pl->total_iters;
#ifdef MQ_EXPERIMENT
      // Diagnostic builds only: MQ_FORCE_SPLIT=s caps the ranges at s per tile (1: no tile is
      // split, so no partials, at the price of idle SMs).
      if (const char* env = getenv("MQ_FORCE_SPLIT")) {
        const long long cap = tiles * atoll(env);
        if (cap >= 1 && cap < ranges) ranges = cap;
      }
#endif
      const long long upb = (pl->total_iters + ranges - 1) / ranges;
      return paired ? upb + (upb & 1) : upb;
    };
    long long upb = range_iters(pair);
    // At m = 33-128 pairs lose where their ranges do not split a tile into whole ranges and a
    // tile holds fewer than three (not profiled; a range that crosses a tile's end hands over
    // twice). H100, the plan before this rule and with it in turn, one process each, two rounds,
    // us, pairs / single: 3072x5120 at m = 65 / 96 / 128 (1.5 pair ranges a tile) 15.9 / 13.9,
    // 16.3 / 14.1, 17.8-18.0 / 14.6-15.0; 3584x4608 (1.75) 16.1-16.2 / 15.0, 16.6 / 15.4, 18.1 /
    // 16.0-16.5; 3072x3072 (2.4) 13.3 / 12.5, 13.7 / 12.9, 14.6-14.7 / 13.6; 4096x6144 at m = 33 /
    // 48 / 64 (2.67) 14.9 / 13.8-13.9, 15.2-15.3 / 14.3, 16.1 / 15.5-15.6; 8192x10240 (1.6) 27.7 /
    // 26.1-26.2, 28.7-28.8 / 27.5, 32.9-33.0 / 29.3-29.7 (at m = 96 two runs disagree: 44.7-44.8 /
    // 47.1-47.3 there, 48.0-48.1 / 45.4-45.7 in one process). Whole ranges keep pairs ahead (the
    // plan against MQ_FORCE_PAIR=0 in one process: 4096x4096 at m = 65-128, two a tile, 14.1-14.8 /
    // 14.9-15.7; 3072x5120 at m = 33-64, three, 10.6-11.7 / 11.8-13.4), and so do 128 x 256 tiles
    // past m = 128 (11008x4096, 2.05 a tile: 44.8-48.9 / 48.2-50.5 at m = 129-192);
    // benchmarks/logs/s47/.
    if (pair && !forced_pair && m > 32 && m <= 128 && pl->k_iters % upb != 0 && pl->k_iters < 3 * upb) {
      pair = false;
      upb = range_iters(false);
    }
    pl->upb = (int)upb;
    pl->pair = pair ? 1 : 0;
    const long long used = (pl->total_iters + upb - 1) / upb;
    pl->blocks = (int)(used * (pair ? 2 : 1));
    pl->counters = pl->blocks;  // a flag per range (a row per block of a pair)
    pl->partial_floats = used * cfg->ntok * 128 * cfg->ch;  // one partial per range (a half per block of a pair)
  }
  return true;
}

// The shapes and group sizes the kernels take (mq_plan and mq_gemm refuse the rest alike).
int check_product(int m, int n, int k, int groupsize) {
  if (m < 1 || n <= 0 || k <= 0 || n % 64 || k % 64) return kBadShape;
  if (!(groupsize == -1 || groupsize == 32 || groupsize == 64 || groupsize == 128)) return kBadGroup;
  if (groupsize != -1 && k % groupsize) return kBadGroup;
  return kOk;
}

int make_plan(int m, int n, int k, int groupsize, int sms, int smem_optin, int smem_per_sm, int features,
              const int* clusters, Plan* plan) {
  Plan pl{};
  if (plan_skinny(m, n, k, sms, smem_optin, smem_per_sm, features, &pl)) {
    *plan = pl;
    return kOk;
  }
  int err = kOk;
  if (plan_wgmma(m, n, k, groupsize, sms, smem_optin, smem_per_sm, features, clusters, &pl, &err)) {
    *plan = pl;
    return err;
  }
  pl = Plan{};
  pl.kind = kTiled;
  pl.m_blocks = m < 64 ? (m + 15) / 16 : 4;
  pl.m_chunks = (m + 16 * pl.m_blocks - 1) / (16 * pl.m_blocks);
  // Tile width: the widest whose tiles are shared by at most ~5 blocks each (a shared tile's
  // partials are summed by one block, whose SM reads them at a fraction of the chip's bandwidth),
  // else the narrowest; a width whose configurations do not fit this GPU is skipped.
  TiledConfig cfg{};
  bool found = false;
  // m = 17-32 starts at 256 columns: faster than 512 on every wide layer measured (H100, tile
  // sweep in benchmarks/logs/tile_sweep/; 4096x22016 31.5 -> 27.3 us at m = 32).
  for (int wn = pl.m_blocks == 2 ? 4 : 8; wn >= 2; wn /= 2) {
    TiledConfig c;
    if (!pick_pipeline(pl.m_blocks, wn, smem_optin, smem_per_sm, &c)) continue;
    cfg = c;
    found = true;
    const long long tiles = (long long)pl.m_chunks * ((n + 64 * wn - 1) / (64 * wn));
    if (5 * tiles >= sms) break;
  }
  if (!found) return kSmem;
  pl.wn = cfg.wn; pl.wk = cfg.wk; pl.ks = cfg.ks; pl.stages = cfg.stages;
  pl.smem = smem_bytes(pl.m_blocks, pl.ks, pl.stages, pl.wn, pl.wk);
  const int tn = 64 * pl.wn;
  pl.n_slices = (n + tn - 1) / tn;
  pl.k_iters = (k - 1) / (16 * pl.ks) + 1;  // k >= 64; no int overflow for k near 2^31
  long long tiles = (long long)pl.m_chunks * pl.n_slices;
  pl.total_iters = tiles * pl.k_iters;
  if (tiles > 0x7fffffffLL) return kTooLarge;
  const long long resident = sms;
  if (tiles > kMaxTickets || tiles >= 4LL * resident) {
    // Many whole tiles per block: dealing whole tiles costs little imbalance and needs no
    // partials and no tickets.
    pl.blocks = (int)tiles;
    pl.upb = pl.k_iters;
    pl.counters = 0;
    pl.partial_floats = 0;
  } else {
    if (pl.total_iters > 0x7fffffffLL) return kTooLarge;
    const long long blocks = resident < pl.total_iters ? resident : pl.total_iters;
    pl.upb = (int)((pl.total_iters + blocks - 1) / blocks);
    pl.blocks = (int)((pl.total_iters + pl.upb - 1) / pl.upb);
    pl.counters = (int)tiles;
    pl.partial_floats = (long long)pl.blocks * 16 * pl.m_blocks * tn;  // one partial per range
  }
  *plan = pl;
  return kOk;
}

constexpr int kMaxDevices = 64;
#ifdef MQ_TRACE
std::atomic<int> trace_next{0};
#endif

// Launches `Kernel` (one instantiation per template argument, so `raised` is per kernel), with
// programmatic dependent launch on sm_90+ when `pdl`. The dynamic shared-memory limit is raised
// once per (kernel, device): a driver call per launch is measurable in eager decoding. Raising
// it is idempotent, so two threads racing here is harmless.
// `cluster` > 1: blocks in clusters of that many (consecutive in x).
template <auto Kernel, typename P>
int launch_kernel(const P& p, int blocks, int threads, int smem, bool pdl, int device, cudaStream_t stream,
                  int cluster = 1) {
  static std::atomic<uint64_t> raised{0};
  const uint64_t bit = 1ull << (device % kMaxDevices);
  if (!(raised.load(std::memory_order_relaxed) & bit)) {
    cudaError_t e = cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    if (e != cudaSuccess) return e;
    raised.fetch_or(bit, std::memory_order_relaxed);
  }
#if !MQ_PDL
  pdl = false;
#endif
  if (pdl || cluster > 1) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(blocks);
    cfg.blockDim = dim3(threads);
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attr[2];
    int n_attr = 0;
    if (pdl) {
      attr[n_attr].id = cudaLaunchAttributeProgrammaticStreamSerialization;
      attr[n_attr++].val.programmaticStreamSerializationAllowed = 1;
    }
    if (cluster > 1) {
      attr[n_attr].id = cudaLaunchAttributeClusterDimension;
      attr[n_attr].val.clusterDim.x = cluster;
      attr[n_attr].val.clusterDim.y = 1;
      attr[n_attr++].val.clusterDim.z = 1;
    }
    cfg.attrs = attr;
    cfg.numAttrs = n_attr;
    return cudaLaunchKernelEx(&cfg, Kernel, p);
  }
  Kernel<<<blocks, threads, smem, stream>>>(p);
  return cudaGetLastError();
}

template <int MB, int KS, int STAGES, int WN, int WK, bool PC>
int launch(const Params& p, int smem, bool pdl, int device, cudaStream_t stream) {
  return launch_kernel<marlin_gemm_kernel<MB, KS, STAGES, WN, WK, PC>>(p, p.blocks, 32 * WN * WK, smem, pdl, device, stream);
}

template <int MB, bool PC>
int dispatch_mb(const Params& p, const Plan& pl, bool pdl, int device, cudaStream_t stream) {
#define MQ_CASE(WN_, WK_, KS_, ST_)                                                           \
  if (pl.wn == WN_ && pl.wk == WK_ && pl.ks == KS_ && pl.stages == ST_)                       \
    return launch<MB, KS_, ST_, WN_, WK_, PC>(p, pl.smem, pdl, device, stream);
  if constexpr (MB <= 2) { MQ_CASE(8, 2, 8, 4) }
  MQ_CASE(8, 1, 8, 5) MQ_CASE(8, 1, 8, 4) MQ_CASE(8, 1, 4, 6) MQ_CASE(8, 1, 4, 3) MQ_CASE(8, 1, 4, 2)
  MQ_CASE(4, 2, 16, 4) MQ_CASE(4, 2, 16, 3) MQ_CASE(4, 2, 8, 3)
  MQ_CASE(2, 4, 16, 4) MQ_CASE(2, 4, 16, 3) MQ_CASE(2, 4, 8, 3)
#undef MQ_CASE
  return kSmem;
}

template <bool PC>
int dispatch(const Params& p, const Plan& pl, bool pdl, int device, cudaStream_t stream) {
  switch (pl.m_blocks) {
    case 1: return dispatch_mb<1, PC>(p, pl, pdl, device, stream);
    case 2: return dispatch_mb<2, PC>(p, pl, pdl, device, stream);
    case 3: return dispatch_mb<3, PC>(p, pl, pdl, device, stream);
    case 4: return dispatch_mb<4, PC>(p, pl, pdl, device, stream);
    default: return kSmem;
  }
}

template <int NW, int CW, int D, int G>
int launch_skinny(const SkParams& p, int blocks, bool pdl, int device, cudaStream_t stream) {
  return launch_kernel<skinny_gemm_kernel<NW, CW, D, G>>(p, blocks, 32 * NW, Skinny<NW, CW, D, G>::SMEM, pdl, device, stream);
}

template <int G>
int dispatch_skinny(const SkParams& p, const Plan& pl, bool pdl, int device, cudaStream_t stream) {
#define MQ_SK(CW_)                                                   \
  if (pl.cw == CW_) return launch_skinny<kSkinnyNW, CW_, kSkinnyD, G>(p, pl.blocks, pdl, device, stream);
  MQ_SK(8) MQ_SK(4) MQ_SK(2)
#undef MQ_SK
  return kSmem;
}


template <int NTOK, int CH, int ST, int KB, bool PC, bool POST = false>
int launch_wg(const WgParams& p, int device, bool pdl, cudaStream_t stream) {
  return launch_kernel<wgmma_gemm_kernel<NTOK, CH, ST, KB, PC, POST>>(p, p.blocks, 256, WgTile<NTOK, CH, ST, KB>::SMEM, pdl,
                                                                    device, stream, p.pair ? 2 : 1);
}

template <bool PC>
int dispatch_wg(const WgParams& p, const Plan& pl, bool pdl, int device, cudaStream_t stream) {
  const int ntok = 16 * pl.m_blocks;
  if constexpr (!PC) {
    if (pl.post) {
#define MQ_WGP(NTOK_, CH_, ST_) \
  if (ntok == NTOK_ && pl.wn == CH_ && pl.stages == ST_ && pl.ks == 8) return launch_wg<NTOK_, CH_, ST_, 2, false, true>(p, device, pdl, stream);
      MQ_WGP(64, 2, 6) MQ_WGP(32, 2, 8) MQ_WGP(16, 2, 8) MQ_WGP(16, 4, 4) MQ_WGP(16, 1, 4) MQ_WGP(32, 1, 6)
#ifdef MQ_EXPERIMENT
      MQ_WGP(32, 4, 4) MQ_WGP(32, 1, 8) MQ_WGP(32, 1, 12) MQ_WGP(16, 1, 16) MQ_WGP(16, 1, 8)
#endif
#undef MQ_WGP
      return kSmem;
    }
  }
#define MQ_WG(NTOK_, CH_, ST_, KB_)                                  \
  if (ntok == NTOK_ && pl.wn == CH_ && pl.stages == ST_ && pl.ks == 4 * KB_) \
    return launch_wg<NTOK_, CH_, ST_, KB_, PC>(p, device, pdl, stream);
  MQ_WG(128, 2, 4, 2) MQ_WG(128, 2, 6, 1) MQ_WG(64, 4, 4, 2) MQ_WG(64, 4, 6, 1) MQ_WG(64, 2, 6, 2)
  MQ_WG(64, 2, 8, 1) MQ_WG(32, 4, 4, 2) MQ_WG(32, 2, 8, 2) MQ_WG(16, 4, 4, 2) MQ_WG(16, 1, 4, 2)
  MQ_WG(32, 1, 6, 2)
#ifdef MQ_EXPERIMENT
  MQ_WG(16, 2, 8, 2) MQ_WG(16, 4, 5, 2)
#endif
#undef MQ_WG
  return kSmem;
}

// Only an sm_90a image has the Hopper path's code; this kernel's static shared memory says
// whether the image the driver loaded for a device is one (cudaFuncGetAttributes reads it
// without a launch, so it is safe inside graph capture).
constexpr int kProbeInts = 256;
__global__ void wgmma_probe_kernel(int* out) {
#if MQ_WGMMA_DEVICE
  __shared__ int marker[kProbeInts];
  volatile int* mk = marker;
  mk[threadIdx.x] = threadIdx.x;
  if (out) *out = mk[(threadIdx.x + 1) % kProbeInts];
#endif
}

// How many clusters of s blocks (s = 0 .. kMaxCluster; 0 where none) of the Hopper path's kernel
// the device runs at once. Every Hopper configuration takes more than half an SM's shared memory,
// so one instantiation answers for all. Clusters of 1 and 0 are not asked for.
int device_clusters(int features, int* out) {
  for (int s = 0; s <= kMaxCluster; s++) out[s] = 0;
  if (!(features & kFeatWgmma)) return kOk;
  constexpr auto kernel = wgmma_gemm_kernel<64, 4, 4, 2, false, false>;
  constexpr int smem = WgTile<64, 4, 4, 2>::SMEM;
  // The first launch may come inside a CUDA-graph capture; these queries enqueue nothing, and
  // relaxed capture mode (this thread, for these calls) keeps a strict capture from refusing them.
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  cudaThreadExchangeStreamCaptureMode(&mode);
  struct Restore {
    cudaStreamCaptureMode* m;
    ~Restore() { cudaThreadExchangeStreamCaptureMode(m); }
  } restore{&mode};
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  if (e != cudaSuccess) return e;
  for (int s = 2; s <= kMaxCluster; s++) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(s * 64);
    cfg.blockDim = dim3(256);
    cfg.dynamicSmemBytes = smem;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeClusterDimension;
    attr[0].val.clusterDim.x = s;
    attr[0].val.clusterDim.y = 1;
    attr[0].val.clusterDim.z = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    int count = 0;
    if ((e = cudaOccupancyMaxActiveClusters(&count, kernel, &cfg)) != cudaSuccess) {
      cudaGetLastError();
      count = 0;  // cluster size not offered: the planner does not use it
    }
    out[s] = count;
  }
  return kOk;
}

int device_features(int major) {
  if (major != 9) return 0;
  cudaFuncAttributes attr;
  if (cudaFuncGetAttributes(&attr, wgmma_probe_kernel) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return attr.sharedSizeBytes >= sizeof(int) * kProbeInts ? kFeatWgmma : 0;
}

// Ticket slots for launches captured into CUDA graphs. A captured launch cannot take its
// stream's workspace (a replay may run beside eager work or another graph captured on the same
// stream) and cannot allocate one (no cudaMalloc while capturing); a fresh zeroed tensor puts a
// memset node before every captured split-k launch. Instead each capture (and each stream within
// it) takes one slot, zeroed when it was made, that no other graph holds while this one lives:
// a user object on the graph gives it back when the graph and every executable made from it
// are gone. The kernel leaves its tickets zero after every launch, so a slot given back is zero.
// Skinny plans need at most n / 128 tickets, the others fewer than 4 per SM; a plan needing more
// than a slot holds takes a fresh zeroed workspace (the binding's fallback).
constexpr int kGraphSlotTickets = 4096;
constexpr int kGraphSlotChunk = 32;      // slots per cudaMalloc
struct GraphSlots {
  std::mutex mu;
  std::vector<int*> free[kMaxDevices];
  std::map<std::tuple<int, unsigned long long, void*>, int*> taken;  // (device, capture id, stream)
};
// Never destroyed: a graph released at exit may still give its slot back.
GraphSlots& graph_slots() {
  static GraphSlots* slots = new GraphSlots;
  return *slots;
}
struct SlotHolder {
  int device;
  unsigned long long capture;
  void* stream;
  int* slot;
};
// Runs on a CUDA-internal thread once the graph is gone: no CUDA calls here.
void CUDART_CB give_slot_back(void* p) {
  SlotHolder* h = static_cast<SlotHolder*>(p);
  GraphSlots& g = graph_slots();
  {
    std::lock_guard<std::mutex> lock(g.mu);
    g.taken.erase(std::make_tuple(h->device, h->capture, h->stream));
    g.free[h->device].push_back(h->slot);
  }
  delete h;
}
}  // namespace mq

extern "C" {

int mq_version() { return 7; }

#ifdef MQ_TRACE
// Diagnostic build only: the next launches are numbered from 0 again and the stamps cleared.
int mq_trace_reset() {
  mq::trace_next = 0;
  void* buf = nullptr;
  cudaError_t e = cudaGetSymbolAddress(&buf, mq::mq_trace_buf);
  if (e != cudaSuccess) return e;
  return cudaMemset(buf, 0, sizeof(mq::mq_trace_buf));
}
// Copies the stamps, [launch % 64][block][8] u64 (slots 0-5 %globaltimer ns, 7 the SM id).
int mq_trace_read(void* dst, long long bytes) {
  if (bytes < (long long)sizeof(mq::mq_trace_buf)) return mq::kSmallWorkspace;
  return cudaMemcpyFromSymbol(dst, mq::mq_trace_buf, sizeof(mq::mq_trace_buf));
}
#endif

const char* mq_error_string(int code) {
  switch (code) {
    case mq::kOk: return "no error";
    case mq::kBadPointer: return "a tensor pointer is null or not 16-byte aligned";
    case mq::kBadShape: return "m must be >= 1 and k, n positive multiples of 64";
    case mq::kBadGroup: return "group size must be 32, 64, 128 or -1 and divide k";
    case mq::kSmallWorkspace: return "the partial buffer or ticket workspace is smaller than this product needs";
    case mq::kOldArch: return "the GPU is older than compute capability 8.0";
    case mq::kSmem: return "the GPU does not offer enough shared memory per block";
    case mq::kTooLarge: return "the problem is too large for 32-bit grid indexing";
    default: return cudaGetErrorString(static_cast<cudaError_t>(code));
  }
}

// A zeroed ticket workspace of `count` ints on `device`, from cudaMalloc (outside any framework
// allocator, so no CUDA-graph memory pool can claim it). Never freed: one per stream, 256 KB.
int mq_alloc_tickets(int device, int count, void** out) {
  if (out == nullptr || count <= 0) return mq::kBadPointer;
  int current = -1;
  cudaError_t e = cudaGetDevice(&current);
  if (e != cudaSuccess) return e;
  if (current != device && (e = cudaSetDevice(device)) != cudaSuccess) return e;
  void* p = nullptr;
  if ((e = cudaMalloc(&p, sizeof(int) * (size_t)count)) != cudaSuccess) return e;
  if ((e = cudaMemset(p, 0, sizeof(int) * (size_t)count)) != cudaSuccess) return e;
  if ((e = cudaDeviceSynchronize()) != cudaSuccess) return e;
  if (current != device) cudaSetDevice(current);
  *out = p;
  return mq::kOk;
}

// Outside any capture: makes sure `device` has at least `min_free` free graph ticket slots
// (allocating, zeroing and synchronizing as mq_alloc_tickets does); *free_out = how many it has.
int mq_graph_tickets_reserve(int device, int min_free, int* free_out) {
  if (device < 0 || device >= mq::kMaxDevices) return cudaErrorInvalidDevice;
  mq::GraphSlots& g = mq::graph_slots();
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(g.mu);
      const int have = (int)g.free[device].size();
      if (have >= min_free) {
        if (free_out) *free_out = have;
        return mq::kOk;
      }
    }
    void* chunk = nullptr;
    if (int err = mq_alloc_tickets(device, mq::kGraphSlotTickets * mq::kGraphSlotChunk, &chunk)) return err;
    std::lock_guard<std::mutex> lock(g.mu);
    for (int i = 0; i < mq::kGraphSlotChunk; ++i)
      g.free[device].push_back(static_cast<int*>(chunk) + (size_t)i * mq::kGraphSlotTickets);
  }
}

// While `stream` is capturing: the ticket slot of this capture and stream (the same one for every
// launch they capture), *slot_out = nullptr when no slot is free; *free_out = free slots left.
// Not capturing: *slot_out = nullptr. The slot holds mq_graph_slot_tickets() ints.
int mq_graph_tickets(int device, void* stream, void** slot_out, int* free_out) {
  if (slot_out == nullptr || free_out == nullptr) return mq::kBadPointer;
  if (device < 0 || device >= mq::kMaxDevices) return cudaErrorInvalidDevice;
  *slot_out = nullptr;
  *free_out = 0;
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  unsigned long long capture = 0;
  cudaGraph_t graph = nullptr;
  cudaError_t e = cudaStreamGetCaptureInfo(st, &status, &capture, &graph);
  if (e != cudaSuccess) return e;
  if (status != cudaStreamCaptureStatusActive) return mq::kOk;
  mq::GraphSlots& g = mq::graph_slots();
  const auto key = std::make_tuple(device, capture, stream);
  int* slot = nullptr;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    *free_out = (int)g.free[device].size();
    auto it = g.taken.find(key);
    if (it != g.taken.end()) {
      *slot_out = it->second;
      return mq::kOk;
    }
    if (g.free[device].empty()) return mq::kOk;
    slot = g.free[device].back();
    g.free[device].pop_back();
    g.taken[key] = slot;
    *free_out = (int)g.free[device].size();
  }
  // Outside the lock: a user object released below may run its destructor at once.
  mq::SlotHolder* holder = new mq::SlotHolder{device, capture, stream, slot};
  cudaUserObject_t obj;
  e = cudaUserObjectCreate(&obj, holder, mq::give_slot_back, 1, cudaUserObjectNoDestructorSync);
  if (e != cudaSuccess) {
    mq::give_slot_back(holder);
    return e;
  }
  // The graph takes over our reference: the slot comes back when the last holder lets go.
  e = cudaGraphRetainUserObject(graph, obj, 1, cudaGraphUserObjectMove);
  if (e != cudaSuccess) {
    cudaUserObjectRelease(obj, 1);
    return e;
  }
  *slot_out = slot;
  return mq::kOk;
}

int mq_graph_slot_tickets() { return mq::kGraphSlotTickets; }

// Free graph ticket slots of `device` (for tests: a capture takes one, a destroyed graph gives it back).
int mq_graph_tickets_free(int device) {
  if (device < 0 || device >= mq::kMaxDevices) return -1;
  mq::GraphSlots& g = mq::graph_slots();
  std::lock_guard<std::mutex> lock(g.mu);
  return (int)g.free[device].size();
}

// The planner's feature flags for `device` (mq::Feature: 1 = the Hopper wgmma path is in this
// library's image for it), or -1 when the device cannot be queried.
int mq_device_features(int device) {
  int major = 0, current = -1;
  cudaError_t e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  if (e != cudaSuccess) return -1;
  if ((e = cudaGetDevice(&current)) != cudaSuccess) return -1;
  if (current != device && cudaSetDevice(device) != cudaSuccess) return -1;
  const int features = mq::device_features(major);
  if (current != device) cudaSetDevice(current);
  return features;
}

// out[s] (s = 0 .. 8): how many clusters of s blocks of the Hopper path the device runs at once
// (0: none, or no Hopper path), for mq_plan. Returns 0 or a cudaError_t.
int mq_device_clusters(int device, int* out) {
  if (out == nullptr) return mq::kBadPointer;
  const int features = mq_device_features(device);
  if (features < 0) return cudaErrorInvalidDevice;
  int current = -1;
  cudaError_t e = cudaGetDevice(&current);
  if (e != cudaSuccess) return e;
  if (current != device && (e = cudaSetDevice(device)) != cudaSuccess) return e;
  const int err = mq::device_clusters(features, out);
  if (current != device) cudaSetDevice(current);
  return err;
}

// Pure host-side planning (no GPU needed): what a product of this shape needs on a GPU with these
// facts and feature flags (mq_device_features).
// out[0..7] = m_blocks (token rows / 16 per tile; token groups of 8 on the skinny path), stages,
// blocks, counters (tickets), smem bytes, stripes per stage (per warp batch), kernel kind (0 tiled,
// 1 skinny, 2 Hopper wgmma), columns per tile;
// out[8] = blocks per cluster (2: pairs of blocks share each stream-K range; 0: no clusters);
// out[9] = 1 where group scales apply after the MMA (groups of 128 on some Hopper tiles);
// groupsize: -1 (per channel), 32, 64 or 128, as mq_gemm gets it;
// clusters: mq_device_clusters' table (nullptr: the plan uses no clusters);
// *partial_floats = fp32 elements of the partial buffer (0: none needed).
int mq_plan(int m, int n, int k, int groupsize, int sms, int smem_optin, int smem_per_sm, int features, const int* clusters,
            int* out, long long* partial_floats) {
  if (int err = mq::check_product(m, n, k, groupsize)) return err;
  mq::Plan pl;
  int err = mq::make_plan(m, n, k, groupsize, sms, smem_optin, smem_per_sm, features, clusters, &pl);
  if (err) return err;
  out[0] = pl.m_blocks; out[1] = pl.stages; out[2] = pl.blocks; out[3] = pl.counters;
  out[4] = pl.smem; out[5] = pl.ks; out[6] = pl.kind;
  out[7] = pl.kind == mq::kSkinny ? 64 * pl.cw : pl.kind == mq::kWgmma ? 128 * pl.wn : 64 * pl.wn;
  out[8] = pl.pair ? 2 : 0;
  out[9] = pl.post;
  *partial_floats = pl.partial_floats;
  return mq::kOk;
}

// Validates everything, then launches on `stream`. Returns 0, a negative mq::Error, or a
// positive cudaError_t.
// smem_limit: shared memory per block the plan may use (0: the device's maximum); the binding
// passes the same value it planned with, so the buffers it sized match the launch.
int mq_gemm(const void* A, const void* B, const void* s, void* C, void* partials, long long partial_capacity,
            void* counters, int counter_capacity, int m, int n, int k, int groupsize, int smem_limit, int device,
            void* stream) {
  auto misaligned = [](const void* ptr) { return ptr == nullptr || (reinterpret_cast<uintptr_t>(ptr) & 15); };
  if (misaligned(A) || misaligned(B) || misaligned(s) || misaligned(C)) return mq::kBadPointer;
  if (int err = mq::check_product(m, n, k, groupsize)) return err;

  if (device < 0 || device >= mq::kMaxDevices) return cudaErrorInvalidDevice;
  int current = -1;
  cudaError_t e = cudaGetDevice(&current);
  if (e != cudaSuccess) return e;
  if (current != device && (e = cudaSetDevice(device)) != cudaSuccess) return e;
  // Device facts never change: read once per device (4 driver calls saved per launch).
  struct Facts { std::atomic<int> ready; int major, sms, optin, per_sm, features, clusters[mq::kMaxCluster + 1]; };
  static Facts facts[mq::kMaxDevices];
  Facts& f = facts[device];
  if (!f.ready.load(std::memory_order_acquire)) {
    int major = 0, sms = 0, optin = 0, per_sm = 0;
    if ((e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device)) != cudaSuccess) return e;
    if ((e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device)) != cudaSuccess) return e;
    if ((e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device)) != cudaSuccess) return e;
    if ((e = cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device)) != cudaSuccess) return e;
    f.major = major; f.sms = sms; f.optin = optin; f.per_sm = per_sm;
    f.features = mq::device_features(major);
    if ((e = static_cast<cudaError_t>(mq::device_clusters(f.features, f.clusters))) != cudaSuccess) return e;
    f.ready.store(1, std::memory_order_release);
  }
  if (f.major < 8) return mq::kOldArch;
  const int sms = f.sms, per_sm = f.per_sm;
  int optin = f.optin;
  if (smem_limit > 0 && smem_limit < optin) optin = smem_limit;

  mq::Plan pl;
  int err = mq::make_plan(m, n, k, groupsize, sms, optin, per_sm, f.features, f.clusters, &pl);
  if (err) return err;
  if (pl.partial_floats > 0 && (misaligned(partials) || partial_capacity < pl.partial_floats)) return mq::kSmallWorkspace;
  if (pl.counters > 0 && (counters == nullptr || counter_capacity < pl.counters)) return mq::kSmallWorkspace;

  cudaStream_t st = static_cast<cudaStream_t>(stream);
  const bool pdl = f.major >= 9;
  if (pl.kind == mq::kSkinny) {
    mq::SkParams q;
    q.A = static_cast<const half*>(A);
    q.B = static_cast<const int4*>(B);
    q.s = static_cast<const int4*>(s);
    q.C = static_cast<half*>(C);
    q.partials = static_cast<float*>(partials);
    q.counters = static_cast<int*>(counters);
    q.m = m; q.n = n; q.k = k;
    q.n_chunks = n / 64; q.stripes = k / 16;
    q.tiles = pl.tiles; q.upb = pl.upb; q.total = pl.total;
#ifdef MQ_TRACE
    q.trace_id = mq::trace_next.fetch_add(1);
#endif
    switch (groupsize) {
      case 32: return mq::dispatch_skinny<32>(q, pl, pdl, device, st);
      case 64: return mq::dispatch_skinny<64>(q, pl, pdl, device, st);
      case 128: return mq::dispatch_skinny<128>(q, pl, pdl, device, st);
      default: return mq::dispatch_skinny<-1>(q, pl, pdl, device, st);
    }
  }

  if (pl.kind == mq::kWgmma) {
    mq::WgParams w;
    w.A = static_cast<const int4*>(A);
    w.B = static_cast<const int4*>(B);
    w.s = static_cast<const int4*>(s);
    w.C = static_cast<half*>(C);
    w.partials = static_cast<float*>(partials);
    w.counters = static_cast<int*>(counters);
    w.m = m; w.n = n; w.k = k; w.groupsize = groupsize;
    w.g_shift = groupsize == 32 ? 5 : groupsize == 64 ? 6 : 7;
    w.m_chunks = pl.m_chunks; w.k_iters = pl.k_iters;
    w.blocks = pl.blocks; w.upb = pl.upb; w.total_iters = pl.total_iters; w.pair = pl.pair;
#ifdef MQ_TRACE
    w.trace_id = mq::trace_next.fetch_add(1);
#endif
    if (groupsize == -1) return mq::dispatch_wg<true>(w, pl, pdl, device, st);
    return mq::dispatch_wg<false>(w, pl, pdl, device, st);
  }

  mq::Params p;
  p.A = static_cast<const int4*>(A);
  p.B = static_cast<const int4*>(B);
  p.s = static_cast<const int4*>(s);
  p.C = static_cast<half*>(C);
  p.partials = static_cast<float*>(partials);
  p.counters = static_cast<int*>(counters);
  p.m = m; p.n = n; p.k = k; p.groupsize = groupsize;
  p.g_shift = groupsize == 32 ? 5 : groupsize == 64 ? 6 : 7;
  p.m_chunks = pl.m_chunks; p.n_slices = pl.n_slices; p.k_iters = pl.k_iters;
  p.blocks = pl.blocks; p.upb = pl.upb; p.total_iters = pl.total_iters;
#ifdef MQ_TRACE
  p.trace_id = mq::trace_next.fetch_add(1);
#endif
  if (groupsize == -1) return mq::dispatch<true>(p, pl, pdl, device, st);
  return mq::dispatch<false>(p, pl, pdl, device, st);
}

}  // extern "C"
