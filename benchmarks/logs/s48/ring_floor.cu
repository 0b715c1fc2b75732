// Experiment (forty-third session): the floor under the Hopper path's data movement. One block of
// 256 threads per SM (shared memory too large for a second one, as the Hopper tiles' 165-214 KB),
// each streaming its contiguous share of N bytes through a ring of S stages of B KB filled by
// 16-byte cp.async (the first S - 1 stages requested before griddepcontrol.wait, then the
// activations read), one block barrier a stage, each stage read back from shared memory before
// its slot is refilled; no math, no split-k. Back-to-back PDL launches in a CUDA graph of 60,
// buffers rotated past L2, as scripts/stream_floor.cu.
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a ring_floor.cu -o /tmp/ring
//   (ran in the forty-third session with the timing inlined, as scripts/graph_timing.cuh has it now)
//   /tmp/ring S:B[,S:B...] MB...      (prints us per launch for each ring)
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../../scripts/graph_timing.cuh"  // CHECK, graph_us_per_launch

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
  const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(valid ? 16 : 0));
}

__global__ void __launch_bounds__(256, 1)
    ring_kernel(const int4* __restrict__ src, long long n_vec, int stages, int per_thread, const int4* __restrict__ act,
                int act_vec, int* out) {
  extern __shared__ int4 ring[];
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  const int tid = threadIdx.x;
  const long long stage_vec = 256LL * per_thread;
  const long long per_block = (n_vec + gridDim.x - 1) / gridDim.x;
  const long long begin = blockIdx.x * per_block;
  const long long end = begin + per_block < n_vec ? begin + per_block : n_vec;
  const long long n_st = end > begin ? (end - begin + stage_vec - 1) / stage_vec : 0;
  auto issue = [&](long long st) {
    if (st < n_st) {
      int4* slot = ring + (st % stages) * stage_vec;
      for (int j = 0; j < per_thread; j++) {
        const long long i = begin + st * stage_vec + j * 256 + tid;
        cp_async16(slot + j * 256 + tid, src + (i < end ? i : begin), i < end);
      }
    }
    asm volatile("cp.async.commit_group;\n" ::: "memory");
  };
  for (int st = 0; st < stages - 1; st++) issue(st);
  asm volatile("griddepcontrol.wait;" ::: "memory");
  int acc = 0;
  for (int a = tid; a < act_vec; a += blockDim.x) acc ^= __ldcg(act + a).x;
  for (long long st = 0; st < n_st; st++) {
    // stages - 2 groups may stay in flight: the one for `st` has landed.
    switch (stages) {
      case 2: asm volatile("cp.async.wait_group 0;\n" ::: "memory"); break;
      case 3: asm volatile("cp.async.wait_group 1;\n" ::: "memory"); break;
      case 4: asm volatile("cp.async.wait_group 2;\n" ::: "memory"); break;
      case 5: asm volatile("cp.async.wait_group 3;\n" ::: "memory"); break;
      case 6: asm volatile("cp.async.wait_group 4;\n" ::: "memory"); break;
      case 7: asm volatile("cp.async.wait_group 5;\n" ::: "memory"); break;
      default: asm volatile("cp.async.wait_group 6;\n" ::: "memory"); break;
    }
    __syncthreads();
    // Read the stage as the tensor cores would: every thread words of others' copies.
    const int4* slot = ring + (st % stages) * stage_vec;
    for (int j = 0; j < per_thread; j++) {
      const int4 x = slot[j * 256 + (tid ^ 32)];
      acc ^= x.x ^ x.y ^ x.z ^ x.w;
    }
    issue(st + stages - 1);  // the slot read in the step before: every thread passed this step's barrier
  }
  if (acc == 0x7f3a5c1d) out[blockIdx.x] = acc;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ring S:B[,S:B...] MB...  (S stages of B KB, B a multiple of 4, S 2-8)\n");
    return 2;
  }
  std::vector<std::pair<int, int>> rings;
  for (const char* p = argv[1]; *p;) {
    int s = 0, b = 0, used = 0;
    if (std::sscanf(p, "%d:%d%n", &s, &b, &used) != 2 || s < 2 || s > 8 || b < 4 || b % 4) {
      std::fprintf(stderr, "ring: bad ring list '%s'\n", argv[1]);
      return 2;
    }
    rings.push_back({s, b});
    p += used;
    if (*p == ',') p++;
  }
  int dev = 0, sms = 0, l2 = 0, optin = 0;
  CHECK(cudaGetDevice(&dev));
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
  CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  CHECK(cudaFuncSetAttribute(ring_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, optin));
  int* out;
  int4* act;
  const int act_vec = 512;
  CHECK(cudaMalloc(&out, sizeof(int) * 4096));
  CHECK(cudaMalloc(&act, act_vec * sizeof(int4)));
  CHECK(cudaMemset(act, 2, act_vec * sizeof(int4)));
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  std::printf("%8s", "MB");
  for (auto& r : rings) std::printf("  %4d x %3d KB", r.first, r.second);
  std::printf("   (us per launch, %d blocks)\n", sms);
  for (int a = 2; a < argc; a++) {
    const double mb = std::atof(argv[a]);
    const long long bytes = ((long long)(mb * 1e6) + 15) / 16 * 16;
    const long long n_vec = bytes / 16;
    const int copies = (int)((4LL * l2 + bytes - 1) / bytes) + 1;
    std::vector<int4*> bufs(copies, nullptr);
    for (auto& b : bufs) {
      CHECK(cudaMalloc(&b, bytes));
      CHECK(cudaMemset(b, 1, bytes));
    }
    std::printf("%8.1f", mb);
    for (auto& r : rings) {
      const int per_thread = r.second * 1024 / 16 / 256;
      const size_t smem = (size_t)r.first * r.second * 1024;
      if ((int)smem > optin) {
        std::printf("  %13s", "too big");
        continue;
      }
      const double us = graph_us_per_launch(stream, 60, [&](int l) {
        cudaLaunchConfig_t cfg = {};
        cfg.gridDim = dim3(sms);
        cfg.blockDim = dim3(256);
        cfg.dynamicSmemBytes = smem;
        cfg.stream = stream;
        cudaLaunchAttribute attr[1];
        attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[0].val.programmaticStreamSerializationAllowed = 1;
        cfg.attrs = attr;
        cfg.numAttrs = 1;
        CHECK(cudaLaunchKernelEx(&cfg, ring_kernel, (const int4*)bufs[l % copies], n_vec, r.first, per_thread,
                                 (const int4*)act, act_vec, out));
      });
      std::printf("  %13.2f", us);
    }
    std::printf("\n");
    for (auto& b : bufs) CHECK(cudaFree(b));
  }
  return 0;
}
