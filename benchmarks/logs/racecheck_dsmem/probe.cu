// Does racecheck order a remote (DSMEM) store after the owner's earlier write through a
// release/acquire cluster barrier? mode 0: owner writes by st.shared; mode 1: by cp.async.
// nvcc -O2 -lineinfo -gencode arch=compute_90a,code=sm_90a probe.cu -o probe
// compute-sanitizer --tool racecheck ./probe   (H200, CUDA 13.0: probe_racecheck.log)
#include <cstdio>
#include <cuda_runtime.h>
__device__ __forceinline__ void csync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}
__global__ void __cluster_dims__(2, 1, 1) k(const float* src, float* out, int mode) {
  __shared__ __align__(16) float buf[1024];
  unsigned rank;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(rank));
  const unsigned a = (unsigned)__cvta_generic_to_shared(buf + 4 * threadIdx.x);
  // 1. own write
  if (mode == 0) {
    buf[4 * threadIdx.x] = src[threadIdx.x];
  } else {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(a), "l"(src + 4 * threadIdx.x));
    asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
  }
  __syncthreads();
  float x = buf[4 * ((threadIdx.x + 1) % 256)];
  csync();
  // 2. the partner writes into our buffer
  unsigned remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(remote) : "r"(a), "r"(rank ^ 1));
  asm volatile("st.shared::cluster.v4.f32 [%0], {%1,%1,%1,%1};\n" ::"r"(remote), "f"(x + rank) : "memory");
  csync();
  // 3. we read it, then overwrite by our own write again
  float y = buf[4 * threadIdx.x];
  __syncthreads();
  if (mode == 0) {
    buf[4 * threadIdx.x] = y;
  } else {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(a), "l"(src + 4 * threadIdx.x));
    asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
  }
  __syncthreads();
  out[blockIdx.x * 256 + threadIdx.x] = y + buf[4 * ((threadIdx.x + 3) % 256)];
  csync();
}
int main() {
  float *src, *out;
  cudaMalloc(&src, 4096 * 4); cudaMalloc(&out, 4096 * 4);
  cudaMemset(src, 0, 4096 * 4);
  for (int mode = 0; mode < 2; mode++) {
    k<<<2, 256>>>(src, out, mode);
    printf("mode %d: %s\n", mode, cudaGetErrorString(cudaDeviceSynchronize()));
  }
  return 0;
}
