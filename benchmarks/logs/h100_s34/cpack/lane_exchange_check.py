"""The lane exchanges of c_packed_stores.patch (the Hopper kernel's write_c), emulated for one
(wgmma, 8 tokens) fragment: every lane ends with 4 consecutive features of one token, and the 32
lanes cover the fragment's 8 tokens x 16 features once. python lane_exchange_check.py"""


def main() -> None:
    lanes = range(32)
    g = {lane: lane >> 2 for lane in lanes}
    q = {lane: lane & 3 for lane in lanes}
    # What a lane holds: (token, feature) of (low, high) halves of its two half2 values.
    t0v = {lane: ((2 * q[lane], g[lane]), (2 * q[lane], g[lane] + 8)) for lane in lanes}
    t1v = {lane: ((2 * q[lane] + 1, g[lane]), (2 * q[lane] + 1, g[lane] + 8)) for lane in lanes}
    odd = {lane: g[lane] & 1 for lane in lanes}
    upper = {lane: (g[lane] >> 1) & 1 for lane in lanes}
    sent = {lane: t0v[lane] if odd[lane] else t1v[lane] for lane in lanes}
    mine = {lane: t1v[lane] if odd[lane] else t0v[lane] for lane in lanes}
    other = {lane: sent[lane ^ 4] for lane in lanes}
    lo = {lane: (other[lane][0], mine[lane][0]) if odd[lane] else (mine[lane][0], other[lane][0]) for lane in lanes}
    hi = {lane: (other[lane][1], mine[lane][1]) if odd[lane] else (mine[lane][1], other[lane][1]) for lane in lanes}
    sent2 = {lane: lo[lane] if upper[lane] else hi[lane] for lane in lanes}
    got = {lane: sent2[lane ^ 8] for lane in lanes}
    out = {lane: got[lane] + hi[lane] if upper[lane] else lo[lane] + got[lane] for lane in lanes}
    covered = set()
    for lane in lanes:
        tok, foff = 2 * q[lane] + odd[lane], 4 * (g[lane] >> 2) + 8 * upper[lane]
        want = tuple((tok, foff + e) for e in range(4))
        assert out[lane] == want, (lane, out[lane], want)
        covered |= set(want)
    assert covered == {(t, f) for t in range(8) for f in range(16)}
    print("ok: 32 lanes x 4 consecutive features of one token cover 8 tokens x 16 features once")


if __name__ == "__main__":
    main()
