"""Per-block stamps from trace_launches.py --dump: do the blocks that enter late end their loop late?

    python entry_vs_loop.py RAW_DIR

For each dumped layer (launches 5-14, blocks that stamped), us from the launch's first release:
blocks split by entry time into the early three quarters and the late quarter, with their loop
end medians and maxima, the rank correlation of entry and loop end, and which ranges the 10
latest loop ends belong to (range = blocks - 1 - blockIdx; summers marked *).
"""
import sys
from pathlib import Path

import torch


def ranks(x: torch.Tensor) -> torch.Tensor:
    return x.argsort().argsort().double()


def main(raw: Path) -> None:
    for f in sorted(raw.glob("*.pt")):
        t = torch.load(f)
        rows = []
        late_ranges = {}
        for i in range(5, 15):
            r = t[i]
            live = (r[:, 0] > 0).nonzero().flatten()
            if live.numel() == 0:
                continue
            nb = int(live.max()) + 1
            r = r[:nb].double()
            t0 = r[:, 1].min()
            entry = (r[:, 0] - t0) / 1e3
            loop = (r[:, 2] - t0) / 1e3
            first = (r[:, 5] - t0) / 1e3
            summer = r[:, 4] > 0
            q = entry.quantile(0.75)
            late = entry > q
            rho = torch.corrcoef(torch.stack([ranks(entry), ranks(loop)]))[0, 1].item()
            rows.append((loop[~late].median().item(), loop[~late].max().item(), loop[late].median().item(),
                         loop[late].max().item(), rho, first[~late].median().item(), first[late].median().item(),
                         int(late.sum())))
            for b in loop.argsort(descending=True)[:10].tolist():
                key = f"{nb - 1 - b}{'*' if summer[b] else ''}"
                late_ranges[key] = late_ranges.get(key, 0) + 1
        if not rows:
            continue
        med = [torch.tensor([x[j] for x in rows]).median().item() for j in range(8)]
        top = sorted(late_ranges.items(), key=lambda kv: -kv[1])[:12]
        print(f"{f.stem:>18}  loop early med/max {med[0]:5.2f}/{med[1]:5.2f}  late med/max {med[2]:5.2f}/{med[3]:5.2f}"
              f"  rho {med[4]:+.2f}  first early/late {med[5]:5.2f}/{med[6]:5.2f}  late n {med[7]:.0f}")
        print(f"{'':>18}  latest loop ends by range (count over 10 launches): "
              + ", ".join(f"{k}:{v}" for k, v in top))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
