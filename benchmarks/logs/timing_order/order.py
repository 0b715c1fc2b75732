# Does the fp16 measurement right before slow down the next measurement (clocks)? Same graphs, several orders.
import sys, time, torch
sys.path.insert(0, "scripts")
from bench_kernel import _copies_needed, time_graph
from marlin_quant import ops, packing
l2 = torch.cuda.get_device_properties(0).L2_cache_size
ws = ops.make_workspace("cuda")
for k, n, m in [(8192, 57344, 256), (8192, 10240, 128), (28672, 8192, 64), (4096, 22016, 256)]:
    codes = torch.randint(0, 16, (k, n), dtype=torch.int32, device="cuda")
    scales = (torch.rand(k // 128, n, device="cuda") * 0.01 + 1e-3).half()
    B, s = packing.pack(codes, scales, 128)
    W = packing.dequantize(codes, scales, 128).t().contiguous().half()
    del codes
    nq = _copies_needed(B.numel() * 4 + s.numel() * 2, l2); nw = _copies_needed(W.numel() * 2, l2)
    Bs = [B] + [B.clone() for _ in range(nq - 1)]; ss = [s] + [s.clone() for _ in range(nq - 1)]
    Ws = [W] + [W.clone() for _ in range(nw - 1)]
    A = torch.randn(m, k, dtype=torch.float16, device="cuda")
    ops.gemm(A, B, s, 128, ws)
    q = [lambda i=i: ops.gemm(A, Bs[i % nq], ss[i % nq], 128, ws) for i in range(60)]
    f = [lambda i=i: torch.nn.functional.linear(A, Ws[i % nw]) for i in range(60)]
    seq = []
    for tag in "FQQQFQFFQ":
        seq.append(f"{tag}{time_graph(f if tag == 'F' else q) * 1e6:.1f}")
    time.sleep(0.5)
    seq.append(f"sleep Q{time_graph(q) * 1e6:.1f}")
    time.sleep(0.5)
    seq.append(f"sleep F{time_graph(f) * 1e6:.1f}")
    print(f"{k}x{n} m={m}:", " ".join(seq), flush=True)
    del Bs, ss, Ws, B, s, W
    torch.cuda.empty_cache()
