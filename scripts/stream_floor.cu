// The floor under one weight-streaming launch: back-to-back launches of a kernel that only reads
// N bytes (no math, no split-k fixup), timed like scripts/bench_kernel.py (a CUDA graph of 60
// launches, buffers rotated past L2). What a layer of N bytes of 4-bit weights cannot beat with
// one launch per layer; the gap between it and the real kernel is what the kernel adds.
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a scripts/stream_floor.cu -o /tmp/floor
//   /tmp/floor [--per-sm N] [MB ...]   (default: 1 block per SM; 0 8.4 25.2 45.1 117.4 235 MB;
//                                       prints us per launch)
//
// Variants: "plain" launches; "pdl" launches with programmatic dependent launch, each block
// signalling at its start and waiting for the previous launch only before its final write, so
// the reads of one launch may overlap the tail of the one before (the most PDL can give).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define CHECK(x)                                                                          \
  do {                                                                                    \
    cudaError_t e = (x);                                                                  \
    if (e != cudaSuccess) {                                                               \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e)); \
      std::exit(1);                                                                       \
    }                                                                                     \
  } while (0)

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

int main(int argc, char** argv) {
  std::vector<double> mbs = {0, 8.4, 25.2, 45.1, 117.4, 235.0};
  int per_sm = 1, first = 1;
  if (argc > 1 && std::string(argv[1]) == "--per-sm") {
    per_sm = argc > 2 ? std::atoi(argv[2]) : 0;
    first = 3;
    if (per_sm < 1 || per_sm > 8) {
      std::fprintf(stderr, "usage: floor [--per-sm N] [MB ...]; --per-sm takes 1 to 8 blocks per SM\n");
      return 2;
    }
  }
  if (argc > first) {
    mbs.clear();
    for (int a = first; a < argc; a++) mbs.push_back(std::atof(argv[a]));
  }
  int dev = 0, sms = 0, l2 = 0;
  CHECK(cudaGetDevice(&dev));
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
  int* out;
  CHECK(cudaMalloc(&out, sizeof(int) * 4096));
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  std::printf("%d block(s) of 256 threads per SM\n", per_sm);
  std::printf("%10s %12s %12s %12s %12s\n", "MB", "plain us", "pdl us", "plain TB/s", "pdl TB/s");
  for (double mb : mbs) {
    const long long bytes = ((long long)(mb * 1e6) + 15) / 16 * 16;
    const long long n_vec = bytes / 16;
    const int copies = bytes > 0 ? (int)((4LL * l2 + bytes - 1) / bytes) + 1 : 1;
    std::vector<int4*> bufs(copies, nullptr);
    for (auto& b : bufs) {
      CHECK(cudaMalloc(&b, bytes > 0 ? bytes : 16));
      CHECK(cudaMemset(b, 1, bytes > 0 ? bytes : 16));
    }
    double us[2];
    for (int variant = 0; variant < 2; variant++) {
      const bool pdl = variant == 1;
      const int launches = 60;
      cudaGraph_t graph;
      cudaGraphExec_t exec;
      CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
      for (int l = 0; l < launches; l++) {
        cudaLaunchConfig_t cfg = {};
        cfg.gridDim = dim3(sms * per_sm);
        cfg.blockDim = dim3(256);
        cfg.stream = stream;
        cudaLaunchAttribute attr[1];
        attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[0].val.programmaticStreamSerializationAllowed = 1;
        cfg.attrs = attr;
        cfg.numAttrs = pdl ? 1 : 0;
        CHECK(cudaLaunchKernelEx(&cfg, stream_kernel, (const int4*)bufs[l % copies], n_vec, out, pdl));
      }
      CHECK(cudaStreamEndCapture(stream, &graph));
      CHECK(cudaGraphInstantiate(&exec, graph, 0));
      cudaEvent_t a, b;
      CHECK(cudaEventCreate(&a));
      CHECK(cudaEventCreate(&b));
      std::vector<float> samples;
      for (int rep = 0; rep < 7; rep++) {
        CHECK(cudaEventRecord(a, stream));
        CHECK(cudaGraphLaunch(exec, stream));
        CHECK(cudaEventRecord(b, stream));
        CHECK(cudaEventSynchronize(b));
        float ms = 0;
        CHECK(cudaEventElapsedTime(&ms, a, b));
        samples.push_back(ms * 1e3f / launches);
      }
      std::sort(samples.begin(), samples.end());
      us[variant] = samples[samples.size() / 2];
      CHECK(cudaGraphExecDestroy(exec));
      CHECK(cudaGraphDestroy(graph));
    }
    std::printf("%10.1f %12.2f %12.2f %12.2f %12.2f\n", mb, us[0], us[1], bytes / us[0] / 1e6, bytes / us[1] / 1e6);
    for (auto& b : bufs) CHECK(cudaFree(b));
  }
  return 0;
}
