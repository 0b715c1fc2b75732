// marlin-quant: FP16 x INT4 matrix multiply, C = A @ dequant(B, s).
//
// Depends on nothing but CUDA (no torch, no Python): the C ABI at the bottom is the whole
// interface, so the file can be embedded anywhere. marlin_quant/ops.py is its torch binding.
//
// Layout (see marlin_quant/packing.py): B is int32 (k/16, 2n); each row is one 16-row stripe of
// the weight, 64 columns (4 tiles of 16x16) = 128 int32 = 512 bytes, where lane i of a warp
// reads the 16 bytes at 16*i and finds, per tile, the 8 codes of its two m16n8k16 B fragments.
//
// Work decomposition. A thread block of 8 warps owns an output tile of (16*MB rows) x (64*WN
// columns); its warps sit WN side by side along n and WK = 8/WN deep along k. Weights stream
// through a 4-stage cp.async pipeline. k may be split into several parts handled by different
// blocks (small m has too few output tiles to fill the GPU otherwise); those write fp32 partials,
// and the last block to finish a tile (an atomic ticket) sums them in a fixed order, writes C and
// re-arms the ticket, so results are deterministic and the counters need no reset between calls.

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

namespace mq {

constexpr int kWarps = 8;
constexpr int kThreads = 32 * kWarps;
constexpr int kStages = 4;

// Stripes (16 rows of k) per pipeline stage: about 16 KB of A + B per stage, and at least one
// stripe per k-warp. Must match _stripes_per_stage in marlin_quant/ops.py.
__host__ __device__ constexpr int stripes_per_stage(int mb, int wn) {
  int ks = 32 / (mb + wn);
  int p = 1;
  while (p * 2 <= ks) p *= 2;
  int wk = kWarps / wn;
  return p > wk ? p : wk;
}

struct Params {
  const int4* A;  // (m, k) fp16
  const int4* B;  // (k/16, 2n) int32
  const int4* s;  // (groups, n) fp16, permuted
  half* C;        // (m, n) fp16
  float* partials;  // (splits, m, n) fp32, when splits > 1
  int* counters;    // (m_chunks * n_slices) tickets, zero between calls
  int m, n, k, groupsize;
  int splits, n_slices, m_chunks, k_stages;
};

template <int MB, int WN>
struct Tile {
  static constexpr int WK = kWarps / WN;
  static constexpr int KS = stripes_per_stage(MB, WN);
  static constexpr int TK = 16 * KS;           // k rows per stage
  static constexpr int TN = 64 * WN;           // n columns per block
  static constexpr int MT = 16 * MB;           // m rows per block
  static constexpr int A_VEC = MT * TK / 8;    // int4 per stage of A
  static constexpr int B_VEC = KS * TN / 2;    // int4 per stage of B
  static constexpr int S_ROWS = TK >= 32 ? TK / 32 : 1;  // most scale rows a stage can touch
  static constexpr int S_VEC = S_ROWS * TN / 8;
  static constexpr int STAGE_VEC = A_VEC + B_VEC + S_VEC;
  static constexpr int PIPE_BYTES = kStages * STAGE_VEC * 16;
  static constexpr int RED_BYTES = WK > 1 ? WN * MB * 32 * 32 * 4 : 0;
  static constexpr int SMEM_BYTES = PIPE_BYTES > RED_BYTES ? PIPE_BYTES : RED_BYTES;
  static_assert(KS % WK == 0, "each k-warp needs the same number of stripes");
  static_assert(TK % 64 == 0, "A rows are swizzled in groups of 8 16-byte chunks");
};

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy; src_bytes == 0 fills the destination with zeros (out-of-range rows).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  int n = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(n));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

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
  asm volatile("lop3.b32 %0, %1, %2, %3, %4;\n" : "=r"(d) : "r"(a), "r"(b), "r"(c), "n"(LUT));
  return d;
}

__device__ __forceinline__ half2 as_half2(uint32_t x) { return *reinterpret_cast<half2*>(&x); }
__device__ __forceinline__ uint32_t as_u32(half2 x) { return *reinterpret_cast<uint32_t*>(&x); }

// One int32 of 8 interleaved codes -> four fp16 pairs (code - 8): the B fragments (b0, b1) of
// the tile's left 8 columns and of its right 8 columns. Placing a nibble in the mantissa of
// 1024.0 (0x6400) gives 1024 + code exactly; a subtract (or an fma for the nibble 4 bits up)
// removes the bias. Avoids any integer-to-float conversion instruction.
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

template <int MB, int WN, bool PER_CHANNEL>
__global__ void __launch_bounds__(kThreads) marlin_gemm_kernel(const Params p) {
  using T = Tile<MB, WN>;
  extern __shared__ int4 smem[];

  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int wn = warp % WN;  // which 64-column group of the block tile
  const int wk = warp / WN;  // which k-warp

  // Unit -> (m chunk, k split, n slice); chunks vary fastest so blocks that share a weight tile
  // run together and the second read of it hits L2.
  int unit = blockIdx.x;
  const int chunk = unit % p.m_chunks;
  unit /= p.m_chunks;
  const int split = unit % p.splits;
  const int slice = unit / p.splits;

  const int stage_begin = (int)((long long)p.k_stages * split / p.splits);
  const int stage_end = (int)((long long)p.k_stages * (split + 1) / p.splits);
  const int n_stages = stage_end - stage_begin;

  const int row0 = chunk * T::MT;
  const int col0 = slice * T::TN;
  const int k_stripes = p.k / 16;
  const int n_vec_B = p.n / 2;  // int4 per B row (8n bytes)
  const int n_vec_s = p.n / 8;  // int4 per scale row
  const int k_vec_A = p.k / 8;  // int4 per A row
  const int groups = PER_CHANNEL ? 1 : p.k / p.groupsize;

  auto stage_ptr = [&](int buf) { return smem + buf * T::STAGE_VEC; };

  auto load_stage = [&](int buf, int stage) {
    int4* sA = stage_ptr(buf);
    int4* sB = sA + T::A_VEC;
    int4* sS = sB + T::B_VEC;
    constexpr int A_ROW_VEC = T::TK / 8;
#pragma unroll
    for (int i = tid; i < T::A_VEC; i += kThreads) {
      int r = i / A_ROW_VEC, c = i % A_ROW_VEC;
      int grow = row0 + r, gcol = stage * A_ROW_VEC + c;
      bool ok = grow < p.m && gcol < k_vec_A;
      const int4* src = ok ? p.A + (long long)grow * k_vec_A + gcol : p.A;
      cp_async16(sA + r * A_ROW_VEC + (c ^ (r & 7)), src, ok);
    }
    constexpr int B_ROW_VEC = T::TN / 2;
#pragma unroll
    for (int i = tid; i < T::B_VEC; i += kThreads) {
      int j = i / B_ROW_VEC, e = i % B_ROW_VEC;
      int gs = stage * T::KS + j;
      bool ok = gs < k_stripes && col0 + 64 * (e / 32) < p.n;
      const int4* src = ok ? p.B + (long long)gs * n_vec_B + col0 / 2 + e : p.B;
      cp_async16(sB + i, src, ok);
    }
    if (!PER_CHANNEL) {
      constexpr int S_ROW_VEC = T::TN / 8;
      int srow0 = (stage * T::TK) / p.groupsize;
      int nrows = T::TK >= p.groupsize ? T::TK / p.groupsize : 1;
      for (int i = tid; i < nrows * S_ROW_VEC; i += kThreads) {
        int r = i / S_ROW_VEC, e = i % S_ROW_VEC;
        int grow = srow0 + r;
        bool ok = grow < groups && col0 + 8 * e < p.n;
        const int4* src = ok ? p.s + (long long)grow * n_vec_s + col0 / 8 + e : p.s;
        cp_async16(sS + i, src, ok);
      }
    }
  };

  float acc[MB][8][4];
#pragma unroll
  for (int a = 0; a < MB; a++)
#pragma unroll
    for (int b = 0; b < 8; b++)
#pragma unroll
      for (int c = 0; c < 4; c++) acc[a][b][c] = 0.f;

  auto compute_stage = [&](int buf, int stage) {
    const int4* sA = stage_ptr(buf);
    const int4* sB = sA + T::A_VEC;
    const int4* sS = sB + T::B_VEC;
    constexpr int A_ROW_VEC = T::TK / 8;
    constexpr int PER_WARP = T::KS / T::WK;
    const int valid = min(T::KS, k_stripes - stage * T::KS);
    int4 bq[PER_WARP];
#pragma unroll
    for (int jj = 0; jj < PER_WARP; jj++) {
      int j = wk + T::WK * jj;
      bq[jj] = sB[j * (T::TN / 2) + wn * 32 + lane];
    }
#pragma unroll
    for (int jj = 0; jj < PER_WARP; jj++) {
      const int j = wk + T::WK * jj;
      if (j >= valid) break;
      uint32_t sc[4];  // scales of the 8 n8 sub-tiles this lane touches, as fp16 pairs
      if (!PER_CHANNEL) {
        int srow = T::TK >= p.groupsize ? (16 * j) / p.groupsize : 0;
        int4 sv = sS[srow * (T::TN / 8) + wn * 8 + lane / 4];
        sc[0] = sv.x; sc[1] = sv.y; sc[2] = sv.z; sc[3] = sv.w;
      }
      uint32_t af[MB][4];
#pragma unroll
      for (int mb = 0; mb < MB; mb++) {
        int r = 16 * mb + (lane & 15);
        int c = 2 * j + (lane >> 4);
        ldmatrix_x4(af[mb], sA + r * A_ROW_VEC + (c ^ (r & 7)));
      }
      const uint32_t q[4] = {(uint32_t)bq[jj].x, (uint32_t)bq[jj].y, (uint32_t)bq[jj].z, (uint32_t)bq[jj].w};
#pragma unroll
      for (int t = 0; t < 4; t++) {
        uint32_t left[2], right[2];
        dequant8(q[t], left, right);
        if (!PER_CHANNEL) {
          half2 sp = as_half2(sc[t]);  // (scale of sub-tile 2t, scale of sub-tile 2t + 1)
          half2 sl = __low2half2(sp), sr = __high2half2(sp);
          left[0] = as_u32(__hmul2(as_half2(left[0]), sl));
          left[1] = as_u32(__hmul2(as_half2(left[1]), sl));
          right[0] = as_u32(__hmul2(as_half2(right[0]), sr));
          right[1] = as_u32(__hmul2(as_half2(right[1]), sr));
        }
#pragma unroll
        for (int mb = 0; mb < MB; mb++) {
          mma_16816(acc[mb][2 * t], af[mb], left[0], left[1]);
          mma_16816(acc[mb][2 * t + 1], af[mb], right[0], right[1]);
        }
      }
    }
  };

  // ---- pipeline ----
#pragma unroll
  for (int i = 0; i < kStages - 1; i++) {
    if (i < n_stages) load_stage(i, stage_begin + i);
    cp_async_commit();
  }
  for (int i = 0; i < n_stages; i++) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    int next = i + kStages - 1;
    if (next < n_stages) load_stage(next % kStages, stage_begin + next);
    cp_async_commit();
    compute_stage(i % kStages, stage_begin + i);
  }
  cp_async_wait<0>();
  __syncthreads();

  // ---- reduce the k-warps of the block (fixed order: deterministic) ----
  if (T::WK > 1) {
    float* red = reinterpret_cast<float*>(smem);
    for (int w = 1; w < T::WK; w++) {
      if (wk == w) {
#pragma unroll
        for (int mb = 0; mb < MB; mb++)
#pragma unroll
          for (int u = 0; u < 8; u++)
#pragma unroll
            for (int v = 0; v < 4; v++) {
              float* dst = red + (((wn * MB + mb) * 32 + u * 4 + v) * 32 + lane);
              *dst = (w == 1) ? acc[mb][u][v] : *dst + acc[mb][u][v];
            }
      }
      __syncthreads();
    }
    if (wk == 0) {
#pragma unroll
      for (int mb = 0; mb < MB; mb++)
#pragma unroll
        for (int u = 0; u < 8; u++)
#pragma unroll
          for (int v = 0; v < 4; v++) acc[mb][u][v] += red[((wn * MB + mb) * 32 + u * 4 + v) * 32 + lane];
    }
  }

  const int q4 = lane & 3;
  const int r8 = lane >> 2;
  const int wcol0 = col0 + wn * 64;

  if (p.splits == 1) {
    if (wk != 0 || wcol0 >= p.n) return;
    float2 pcs[8];
    if (PER_CHANNEL) {
      const half* sg = reinterpret_cast<const half*>(p.s) + wcol0;
#pragma unroll
      for (int run = 0; run < 2; run++) {
        int4 v = __ldg(reinterpret_cast<const int4*>(sg + 32 * run + 8 * q4));
        const uint32_t w4[4] = {(uint32_t)v.x, (uint32_t)v.y, (uint32_t)v.z, (uint32_t)v.w};
#pragma unroll
        for (int a = 0; a < 4; a++) pcs[4 * run + a] = __half22float2(as_half2(w4[a]));
      }
    }
#pragma unroll
    for (int mb = 0; mb < MB; mb++) {
#pragma unroll
      for (int h = 0; h < 2; h++) {
        int row = row0 + 16 * mb + r8 + 8 * h;
        if (row >= p.m) continue;
        half* crow = p.C + (long long)row * p.n + wcol0 + 2 * q4;
#pragma unroll
        for (int u = 0; u < 8; u++) {
          float x = acc[mb][u][2 * h], y = acc[mb][u][2 * h + 1];
          if (PER_CHANNEL) { x *= pcs[u].x; y *= pcs[u].y; }
          *reinterpret_cast<half2*>(crow + 8 * u) = __floats2half2_rn(x, y);
        }
      }
    }
    return;
  }

  // ---- split k: publish this block's fp32 partial, the last block of the tile reduces ----
  if (wk == 0 && wcol0 < p.n) {
    float* part = p.partials + (long long)split * p.m * p.n;
#pragma unroll
    for (int mb = 0; mb < MB; mb++)
#pragma unroll
      for (int h = 0; h < 2; h++) {
        int row = row0 + 16 * mb + r8 + 8 * h;
        if (row >= p.m) continue;
        float* prow = part + (long long)row * p.n + wcol0 + 2 * q4;
#pragma unroll
        for (int u = 0; u < 8; u++)
          __stcg(reinterpret_cast<float2*>(prow + 8 * u), make_float2(acc[mb][u][2 * h], acc[mb][u][2 * h + 1]));
      }
  }
  __threadfence();
  __syncthreads();
  __shared__ int is_last;
  int* ticket = p.counters + chunk * p.n_slices + slice;
  if (tid == 0) {
    int prev = atomicAdd(ticket, 1);
    is_last = prev == p.splits - 1;
  }
  __syncthreads();
  if (!is_last) return;
  __threadfence();

  const int rows = min(T::MT, p.m - row0);
  const int cols = min(T::TN, p.n - col0);
  const int vec_per_row = cols / 4;
  for (int i = tid; i < rows * vec_per_row; i += kThreads) {
    int r = i / vec_per_row, c = 4 * (i % vec_per_row);
    long long off = (long long)(row0 + r) * p.n + col0 + c;
    float4 sum = __ldcg(reinterpret_cast<const float4*>(p.partials + off));
    for (int sp = 1; sp < p.splits; sp++) {
      float4 v = __ldcg(reinterpret_cast<const float4*>(p.partials + (long long)sp * p.m * p.n + off));
      sum.x += v.x; sum.y += v.y; sum.z += v.z; sum.w += v.w;
    }
    if (PER_CHANNEL) {
      // Natural column x of a 32-column run sits at 8 * ((x % 8) / 2) + 2 * (x / 8) + x % 2.
      const half* sg = reinterpret_cast<const half*>(p.s);
      float f[4] = {sum.x, sum.y, sum.z, sum.w};
#pragma unroll
      for (int e = 0; e < 4; e++) {
        int x = col0 + c + e;
        int base = x & ~31, w = x & 31;
        f[e] *= __half2float(sg[base + 8 * ((w % 8) / 2) + 2 * (w / 8) + (w % 2)]);
      }
      sum = make_float4(f[0], f[1], f[2], f[3]);
    }
    half2 lo = __floats2half2_rn(sum.x, sum.y), hi = __floats2half2_rn(sum.z, sum.w);
    uint2 out = make_uint2(as_u32(lo), as_u32(hi));
    *reinterpret_cast<uint2*>(p.C + off) = out;
  }
  if (tid == 0) *ticket = 0;  // re-arm for the next call on this workspace
}

// ------------------------------------------------------------------------------------------
// Host side
// ------------------------------------------------------------------------------------------

enum Error {
  kOk = 0,
  kBadPointer = -1,
  kBadShape = -2,
  kBadGroup = -3,
  kBadConfig = -4,
  kNoWorkspace = -5,
  kOldArch = -6,
  kSmem = -7,
  kTooLarge = -8,
};

template <int MB, int WN, bool PC>
int launch(const Params& p, int units, int device, cudaStream_t stream) {
  using T = Tile<MB, WN>;
  auto kernel = marlin_gemm_kernel<MB, WN, PC>;
  int optin = 0;
  cudaError_t e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (e != cudaSuccess) return e;
  if (T::SMEM_BYTES + 64 > optin) return kSmem;
  // Raising the dynamic shared-memory limit is idempotent; doing it on every call costs a
  // driver call but keeps the library free of per-device caches and their thread-safety issues.
  e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, T::SMEM_BYTES);
  if (e != cudaSuccess) return e;
  kernel<<<units, kThreads, T::SMEM_BYTES, stream>>>(p);
  return cudaGetLastError();
}

template <bool PC>
int dispatch(const Params& p, int mb, int wn, int units, int device, cudaStream_t stream) {
#define MQ_CASE(MB_, WN_) \
  if (mb == MB_ && wn == WN_) return launch<MB_, WN_, PC>(p, units, device, stream);
  MQ_CASE(1, 1) MQ_CASE(1, 2) MQ_CASE(1, 4)
  MQ_CASE(2, 1) MQ_CASE(2, 2) MQ_CASE(2, 4)
  MQ_CASE(3, 1) MQ_CASE(3, 2) MQ_CASE(3, 4)
  MQ_CASE(4, 1) MQ_CASE(4, 2) MQ_CASE(4, 4)
#undef MQ_CASE
  return kBadConfig;
}

int stage_rows(int mb, int wn) { return 16 * stripes_per_stage(mb, wn); }

}  // namespace mq

extern "C" {

int mq_version() { return 1; }

const char* mq_error_string(int code) {
  switch (code) {
    case mq::kOk: return "no error";
    case mq::kBadPointer: return "a tensor pointer is null or not 16-byte aligned";
    case mq::kBadShape: return "m must be >= 1 and k, n positive multiples of 64";
    case mq::kBadGroup: return "group size must be 32, 64, 128 or -1 and divide k";
    case mq::kBadConfig: return "unsupported launch configuration (m_blocks 1..4, warps_n 1/2/4, splits >= 1)";
    case mq::kNoWorkspace: return "k is split across blocks but no partial buffer or counters were given";
    case mq::kOldArch: return "the GPU is older than compute capability 8.0";
    case mq::kSmem: return "the GPU does not offer enough shared memory per block for this configuration";
    case mq::kTooLarge: return "the problem is too large for 32-bit grid indexing";
    default: return cudaGetErrorString(static_cast<cudaError_t>(code));
  }
}

// Validates everything, then launches on `stream`. Returns 0, a negative mq::Error, or a
// positive cudaError_t.
int mq_gemm(const void* A, const void* B, const void* s, void* C, void* partials, void* counters,
            int m, int n, int k, int groupsize, int m_blocks, int warps_n, int splits, int device,
            void* stream) {
  auto misaligned = [](const void* ptr) { return ptr == nullptr || (reinterpret_cast<uintptr_t>(ptr) & 15); };
  if (misaligned(A) || misaligned(B) || misaligned(s) || misaligned(C)) return mq::kBadPointer;
  if (m < 1 || n <= 0 || k <= 0 || n % 64 || k % 64) return mq::kBadShape;
  if (!(groupsize == -1 || groupsize == 32 || groupsize == 64 || groupsize == 128)) return mq::kBadGroup;
  if (groupsize != -1 && k % groupsize) return mq::kBadGroup;
  if (m_blocks < 1 || m_blocks > 4 || !(warps_n == 1 || warps_n == 2 || warps_n == 4) || splits < 1)
    return mq::kBadConfig;
  if (splits > 1 && (misaligned(partials) || counters == nullptr)) return mq::kNoWorkspace;

  cudaError_t e = cudaSetDevice(device);
  if (e != cudaSuccess) return e;
  int major = 0;
  e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  if (e != cudaSuccess) return e;
  if (major < 8) return mq::kOldArch;

  const int mt = 16 * m_blocks, tn = 64 * warps_n;
  const int tk = mq::stage_rows(m_blocks, warps_n);
  mq::Params p;
  p.A = static_cast<const int4*>(A);
  p.B = static_cast<const int4*>(B);
  p.s = static_cast<const int4*>(s);
  p.C = static_cast<half*>(C);
  p.partials = static_cast<float*>(partials);
  p.counters = static_cast<int*>(counters);
  p.m = m; p.n = n; p.k = k; p.groupsize = groupsize;
  p.splits = splits;
  p.n_slices = (n + tn - 1) / tn;
  p.m_chunks = (m + mt - 1) / mt;
  p.k_stages = (k + tk - 1) / tk;
  if (splits > p.k_stages) return mq::kBadConfig;
  long long units = (long long)p.m_chunks * p.n_slices * splits;
  if (units > 0x7fffffffLL || (long long)m * n > 0x7fffffffffffLL) return mq::kTooLarge;
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  if (groupsize == -1) return mq::dispatch<true>(p, m_blocks, warps_n, (int)units, device, st);
  return mq::dispatch<false>(p, m_blocks, warps_n, (int)units, device, st);
}

}  // extern "C"
