// Shared by scripts/stream_floor.cu and the floor experiments under benchmarks/logs/: a CUDA error
// check, and the benchmark's timing of back-to-back launches (scripts/bench_kernel.py times the
// kernel the same way: a CUDA graph of the launches, replayed, the median replay).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(x)                                                                          \
  do {                                                                                    \
    cudaError_t e = (x);                                                                  \
    if (e != cudaSuccess) {                                                               \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e)); \
      std::exit(1);                                                                       \
    }                                                                                     \
  } while (0)

// Microseconds a launch: `launch(l)` enqueues launch l (0 .. launches - 1) on `stream` while it is
// captured into one graph; the graph is replayed 7 times and the median replay is divided by
// `launches`.
template <class Launch>
double graph_us_per_launch(cudaStream_t stream, int launches, Launch launch) {
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  for (int l = 0; l < launches; l++) launch(l);
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
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));
  return samples[samples.size() / 2];
}
