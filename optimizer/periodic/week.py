"""The solver's working state: every day's routes with the prefix data that makes
move evaluation constant-time (loads per trip, travel and time before each node).

Only :mod:`optimizer.periodic.search` and :mod:`optimizer.periodic.solve` use it;
results leave as plain node tuples and are checked by :mod:`verify`.
"""

from __future__ import annotations

from dataclasses import dataclass

from optimizer.periodic.problem import PeriodicProblem


@dataclass
class Data:
    """The problem as flat lists, the form the hot loops read fastest."""

    D: list[list[float]]
    q: list[float]
    s: list[float]
    kind: list[int]  # 0 depot, 1 bin, 2 facility
    depot: int
    facilities: list[int]
    Q: float
    T: float
    V: int
    via: list[list[float]]  # a -> best facility -> b
    via_f: list[list[int]]  # that facility
    W: float = 50.0  # penalty per unit of time over the maximum duration

    @classmethod
    def of(cls, p: PeriodicProblem) -> Data:
        """Flatten a problem and precompute the best facility between any two nodes."""
        D = [list(map(float, row)) for row in p.travel]
        n = len(D)
        kind = [1] * n
        kind[p.depot] = 0
        for f in p.facilities:
            kind[f] = 2
        via = [[0.0] * n for _ in range(n)]
        via_f = [[p.facilities[0]] * n for _ in range(n)]
        for a in range(n):
            for b in range(n):
                best, arg = float("inf"), p.facilities[0]
                for f in p.facilities:
                    v = D[a][f] + p.service[f] + D[f][b]
                    if v < best:
                        best, arg = v, f
                via[a][b] = best - p.service[arg]
                via_f[a][b] = arg
        return cls(
            D=D,
            q=list(p.demand),
            s=list(p.service),
            kind=kind,
            depot=p.depot,
            facilities=list(p.facilities),
            Q=float(p.capacity),
            T=float(p.max_duration),
            V=p.vehicles_per_day,
            via=via,
            via_f=via_f,
        )


class Route:
    """One truck's day: ``nodes`` from depot to depot, with prefix data.

    ``trip[k]`` numbers the trips (a facility carries the number of the trip it
    closes), ``load[k]`` is the load on board after node ``k`` within its trip,
    ``tload[t]`` a trip's total, ``cum[k]`` the travel up to node ``k`` and
    ``pre[k]`` the time on arriving at ``k``.
    """

    __slots__ = ("cum", "dur", "load", "nodes", "pre", "tload", "travel", "trip")

    def __init__(self, nodes: list[int], d: Data) -> None:
        self.nodes = nodes
        self.refresh(d)

    def refresh(self, d: Data) -> None:
        """Recompute the prefix data after ``nodes`` changed."""
        nodes, D, q, s, kind = self.nodes, d.D, d.q, d.s, d.kind
        m = len(nodes)
        trip = [0] * m
        load = [0.0] * m
        cum = [0.0] * m
        pre = [0.0] * m
        tload: list[float] = []
        t, cur, c, tm = 0, 0.0, 0.0, 0.0
        for k in range(m):
            v = nodes[k]
            if k:
                u = nodes[k - 1]
                c += D[u][v]
                tm += s[u] + D[u][v]
            cum[k] = c
            pre[k] = tm
            kv = kind[v]
            if kv == 1:
                cur += q[v]
                trip[k] = t
                load[k] = cur
            elif kv == 2:
                trip[k] = t
                load[k] = cur
                tload.append(cur)
                t += 1
                cur = 0.0
            else:
                trip[k] = t
                load[k] = cur
        if len(tload) <= t:
            tload.append(cur)
        self.trip, self.load, self.cum, self.pre, self.tload = trip, load, cum, pre, tload
        self.travel = c
        self.dur = tm + s[nodes[-1]]

    def penalised(self, d: Data) -> float:
        """Travel plus the penalty for time over the maximum duration."""
        over = self.dur - d.T
        return self.travel + (d.W * over if over > 1e-9 else 0.0)


def pen(d: Data, travel: float, dur: float) -> float:
    """Travel plus the duration penalty."""
    over = dur - d.T
    return travel + (d.W * over if over > 1e-9 else 0.0)


def clean(nodes: list[int], d: Data) -> list[int]:
    """Drop unloads that serve no trip (two in a row, or one right after the depot)
    when that does not lengthen the route; an emptied route becomes ``[depot, depot]``."""
    kind, D = d.kind, d.D
    if not any(kind[v] == 1 for v in nodes):
        return [d.depot, d.depot]
    out = [nodes[0]]
    k = 1
    while k < len(nodes) - 1:
        v = nodes[k]
        if kind[v] == 2 and kind[out[-1]] != 1:
            # an unload right after the depot or another unload carries nothing
            nxt = nodes[k + 1]
            prev = out[-1]
            if kind[prev] == 2:  # keep the better of the two facilities
                pp = out[-2]
                keep_prev = D[pp][prev] + D[prev][nxt]
                keep_this = D[pp][v] + D[v][nxt]
                if keep_this < keep_prev:
                    out[-1] = v
                k += 1
                continue
            if D[prev][nxt] <= D[prev][v] + D[v][nxt]:
                k += 1
                continue
        out.append(v)
        k += 1
    out.append(nodes[-1])
    return out


def resplit(nodes: list[int], d: Data) -> list[int]:
    """The same bins in the same order with the unloads placed optimally (least travel).

    Dynamic programme over (bins served, facility just left): a trip serves
    consecutive bins within the capacity and ends at the best facility.
    """
    D, q, Q, s = d.D, d.q, d.Q, d.s
    bins = [v for v in nodes if d.kind[v] == 1]
    m = len(bins)
    if not m:
        return [d.depot, d.depot]
    facs = d.facilities
    inf = float("inf")
    # best[i][f]: least travel+unload service to serve bins[:i] and stand at facility f
    best = [dict.fromkeys(facs, inf) for _ in range(m + 1)]
    back: list[dict[int, tuple[int, int]]] = [{} for _ in range(m + 1)]
    for i in range(m):
        starts = [(d.depot, 0.0)] if i == 0 else [(f, best[i][f]) for f in facs]
        for g, base in starts:
            if base == inf:
                continue
            load = 0.0
            inner = 0.0
            for j in range(i, m):
                load += q[bins[j]]
                if load > Q + 1e-9:
                    break
                if j > i:
                    inner += D[bins[j - 1]][bins[j]]
                head = base + D[g][bins[i]] + inner
                for f in facs:
                    v = head + D[bins[j]][f] + s[f]
                    if v < best[j + 1][f] - 1e-12:
                        best[j + 1][f] = v
                        back[j + 1][f] = (i, g)
    end, arg = inf, facs[0]
    for f in facs:
        v = best[m][f] + D[f][d.depot]
        if v < end:
            end, arg = v, f
    if end == inf:
        return list(nodes)
    seq: list[int] = [d.depot]
    pieces: list[list[int]] = []
    j, f = m, arg
    while j > 0:
        i, g = back[j][f]
        pieces.append([*bins[i:j], f])
        j, f = i, g
    for piece in reversed(pieces):
        seq += piece
    seq.append(d.depot)
    return seq
