"""The skinny summers' rounds from trace_launches.py --dump of a MQ_TRACE_TRIP build.

    python summer_rounds.py RAW_DIR [RAW_DIR ...]   (here: tar xzf raw.tgz; python summer_rounds.py overlapped gap)

Per dumped layer, medians over launches 5-14 and over the summers (blocks that stamped slot 4),
in us: the wait's end (slot 4) to the first round of partial loads added (slot 6), the first round
to all partials added (slot 8), the C stores (8 -> 9), and the summer's exit (9 -> 3); with the
summer's loop end (slot 2) to its wait's end, and the launch's period (first release to the next).
"""
import sys
from pathlib import Path

import torch


def main(dirs: list[Path]) -> None:
    print(f"{'run':>10} {'layer':>16} {'loop->wait':>10} {'wait->r1':>9} {'r1->all':>8} {'store':>6} {'exit':>6} {'period':>7}")
    for d in dirs:
        for f in sorted(d.glob("*.pt")):
            t = torch.load(f).double()
            cols = {c: [] for c in ("lw", "w1", "1a", "st", "ex", "per")}
            for i in range(5, 15):
                r = t[i]
                live = r[:, 0] > 0
                s = r[live & (r[:, 4] > 0) & (r[:, 6] > 0) & (r[:, 8] > 0)]
                if s.numel() == 0:
                    continue
                cols["lw"] += ((s[:, 4] - s[:, 2]) / 1e3).tolist()
                cols["w1"] += ((s[:, 6] - s[:, 4]) / 1e3).tolist()
                cols["1a"] += ((s[:, 8] - s[:, 6]) / 1e3).tolist()
                cols["st"] += ((s[:, 9] - s[:, 8]) / 1e3).tolist()
                cols["ex"] += ((s[:, 3] - s[:, 9]) / 1e3).tolist()
                nxt = t[i + 1][t[i + 1][:, 0] > 0]
                cols["per"].append(float((nxt[:, 1].min() - r[live][:, 1].min()) / 1e3))
            med = {c: torch.tensor(v).median().item() if v else float("nan") for c, v in cols.items()}
            print(f"{d.name:>10} {f.stem:>16} {med['lw']:>10.2f} {med['w1']:>9.2f} {med['1a']:>8.2f} "
                  f"{med['st']:>6.2f} {med['ex']:>6.2f} {med['per']:>7.2f}")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
