"""Local search on one day's routes, and the insertions and removals the week search
uses to move a bin between calendars.

Moves: relocate a run of one to three bins (also reversed, also as a trip of its own
with a new unload), swap two bins, exchange route tails (2-opt*, which also splits a
route onto an idle truck), reverse a run within a trip (2-opt) and place a route's
unloads optimally (:func:`resplit`). Capacity is hard; time over the maximum
duration is penalised (weight ``Data.W``).
"""

from __future__ import annotations

import itertools
import random

from optimizer.periodic.week import Data, Route, clean, pen, resplit

EPS = 1e-9
Day = list[Route]


def _insert_scan(
    day: Day,
    seg: list[int],
    d: Data,
    skip: int = -1,
    extra: Route | None = None,
) -> tuple[float, int, int, int, bool]:
    """Cheapest place for the run ``seg`` on a day: (penalised delta, route, edge, mode,
    reversed). ``route`` indexes ``day`` (``len(day)`` means ``extra``, ``-1`` a new
    route); ``mode`` 0 plain, 1 a new unload after the run, 2 a new unload before it."""
    D, via, s, kind, Q = d.D, d.via, d.s, d.kind, d.Q
    first, last = seg[0], seg[-1]
    segc = sum(D[a][b] for a, b in itertools.pairwise(seg))
    segr = sum(D[b][a] for a, b in itertools.pairwise(seg))
    qseg = sum(d.q[v] for v in seg)
    sseg = sum(s[v] for v in seg)
    best = (float("inf"), -2, -1, 0, False)
    targets = [(k, r) for k, r in enumerate(day) if k != skip]
    if extra is not None:
        targets.append((len(day), extra))
    W, T = d.W, d.T
    orients = (
        ((first, last, segc, False), (last, first, segr, True))
        if len(seg) > 1
        else ((first, last, segc, False),)
    )
    for k, r in targets:
        nodes, trip, load, tload = r.nodes, r.trip, r.load, r.tload
        tr, du = r.travel, r.dur
        base = tr + (W * (du - T) if du - T > 1e-9 else 0.0)
        for j in range(len(nodes) - 2):
            a, b = nodes[j], nodes[j + 1]
            t = trip[j + 1]
            dab = D[a][b]
            fits = tload[t] + qseg <= Q + EPS
            after = kind[b] == 1 and (kind[a] != 1 or load[j] + qseg <= Q + EPS)
            before = kind[a] == 1 and qseg + tload[t] - load[j] <= Q + EPS
            for h, e, sc, rev in orients:
                # the travel added bounds the change from below (time only grows)
                if fits:
                    add = D[a][h] + sc + D[e][b] - dab
                    if add < best[0]:
                        over = du + add + sseg - T
                        v = tr + add + (W * over if over > 1e-9 else 0.0) - base
                        if v < best[0]:
                            best = (v, k, j, 0, rev)
                if after:
                    add = D[a][h] + sc + via[e][b] - dab
                    if add < best[0]:
                        over = du + add + sseg + s[d.via_f[e][b]] - T
                        v = tr + add + (W * over if over > 1e-9 else 0.0) - base
                        if v < best[0]:
                            best = (v, k, j, 1, rev)
                if before:
                    add = via[a][h] + sc + D[e][b] - dab
                    if add < best[0]:
                        over = du + add + sseg + s[d.via_f[a][h]] - T
                        v = tr + add + (W * over if over > 1e-9 else 0.0) - base
                        if v < best[0]:
                            best = (v, k, j, 2, rev)
    routes_after = len(day) - (1 if skip >= 0 else 0) + (1 if extra is not None else 0)
    if routes_after < d.V and qseg <= Q + EPS:
        for rev in (False, True):
            h, e, sc = (last, first, segr) if rev else (first, last, segc)
            tr = D[d.depot][h] + sc + via[e][d.depot]
            v = pen(d, tr, tr + sseg + s[d.via_f[e][d.depot]])
            if v < best[0]:
                best = (v, -1, 0, 0, rev)
    return best


def _insert_nodes(nodes: list[int], seg: list[int], j: int, mode: int, d: Data) -> list[int]:
    """``nodes`` with the run ``seg`` placed on edge ``j`` in ``mode`` (see :func:`_insert_scan`)."""
    a, b = nodes[j], nodes[j + 1]
    if mode == 1:
        mid = [*seg, d.via_f[seg[-1]][b]]
    elif mode == 2:
        mid = [d.via_f[a][seg[0]], *seg]
    else:
        mid = list(seg)
    return nodes[: j + 1] + mid + nodes[j + 1 :]


def new_route(seg: list[int], d: Data) -> Route:
    """A route serving only ``seg`` and unloading before the depot."""
    return Route([d.depot, *seg, d.via_f[seg[-1]][d.depot], d.depot], d)


def best_insertion(day: Day, c: int, d: Data) -> tuple[float, tuple[int, int, int, bool]]:
    """Penalised cost of inserting bin ``c`` on a day at its cheapest place, and the place."""
    v, k, j, mode, rev = _insert_scan(day, [c], d)
    return v, (k, j, mode, rev)


def apply_insertion(day: Day, c: int, where: tuple[int, int, int, bool], d: Data) -> None:
    """Insert bin ``c`` at a place :func:`best_insertion` found."""
    k, j, mode, _ = where
    if k == -1:
        day.append(new_route([c], d))
        return
    r = day[k]
    r.nodes = clean(_insert_nodes(r.nodes, [c], j, mode, d), d)
    r.refresh(d)


def locate(day: Day, c: int) -> tuple[int, int]:
    """(route, position) of bin ``c`` on a day; (-1, -1) when absent."""
    for k, r in enumerate(day):
        if c in r.nodes:
            return k, r.nodes.index(c)
    return -1, -1


def removal(day: Day, c: int, d: Data) -> tuple[float, int, list[int]]:
    """Penalised cost change of taking bin ``c`` off a day, its route and the route after."""
    k, i = locate(day, c)
    r = day[k]
    rest = clean(r.nodes[:i] + r.nodes[i + 1 :], d)
    after = Route(rest, d)
    return after.penalised(d) - r.penalised(d), k, rest


def apply_removal(day: Day, k: int, rest: list[int], d: Data) -> None:
    """Set route ``k`` to ``rest`` (dropping it when empty)."""
    if len(rest) <= 2:
        del day[k]
    else:
        day[k].nodes = rest
        day[k].refresh(d)


def day_cost(day: Day, d: Data) -> float:
    """Penalised cost of a day."""
    return sum(r.penalised(d) for r in day)


def _relocate(day: Day, d: Data, order: list[int]) -> bool:
    """First improving relocation of a run of 1-3 bins; applied. True when one was found."""
    kind = d.kind
    for c in order:
        k, i = locate(day, c)
        if k < 0:
            continue
        r = day[k]
        nodes = r.nodes
        for length in (1, 2, 3):
            seg = nodes[i : i + length]
            if len(seg) < length or any(kind[v] != 1 for v in seg):
                break
            rest = clean(nodes[:i] + nodes[i + length :], d)
            after = Route(rest, d)
            base = after.penalised(d) - r.penalised(d) if len(rest) > 2 else -r.penalised(d)
            extra = after if len(rest) > 2 else None
            v, kk, j, mode, rev = _insert_scan(day, seg, d, skip=k, extra=extra)
            if base + v < -1e-7:
                ins = seg[::-1] if rev else seg
                if kk == -1:
                    apply_removal(day, k, rest, d)
                    day.append(new_route(ins, d))
                elif kk == len(day):  # the same route, shortened
                    after.nodes = clean(_insert_nodes(rest, ins, j, mode, d), d)
                    after.refresh(d)
                    day[k] = after
                else:
                    target = day[kk]
                    target.nodes = clean(_insert_nodes(target.nodes, ins, j, mode, d), d)
                    target.refresh(d)
                    apply_removal(day, k, rest, d)
                return True
    return False


def _swap(day: Day, d: Data) -> bool:
    """First improving exchange of two bins; applied."""
    D, q, s, kind, Q = d.D, d.q, d.s, d.kind, d.Q
    spots = [(k, i) for k, r in enumerate(day) for i, v in enumerate(r.nodes) if kind[v] == 1]
    for x in range(len(spots)):
        k1, i = spots[x]
        r1 = day[k1]
        n1 = r1.nodes
        c1, p1, x1 = n1[i], n1[i - 1], n1[i + 1]
        t1 = r1.trip[i]
        for y in range(x + 1, len(spots)):
            k2, j = spots[y]
            r2 = day[k2]
            n2 = r2.nodes
            c2, p2, x2 = n2[j], n2[j - 1], n2[j + 1]
            dq = q[c2] - q[c1]
            t2 = r2.trip[j]
            d1 = D[p1][c2] + D[c2][x1] - D[p1][c1] - D[c1][x1]
            d2 = D[p2][c1] + D[c1][x2] - D[p2][c2] - D[c2][x2]
            if k1 == k2:
                if j - i <= 1:
                    continue
                if t1 != t2 and (r1.tload[t1] + dq > Q + EPS or r1.tload[t2] - dq > Q + EPS):
                    continue
                delta = pen(d, r1.travel + d1 + d2, r1.dur + d1 + d2) - r1.penalised(d)
            else:
                if r1.tload[t1] + dq > Q + EPS or r2.tload[t2] - dq > Q + EPS:
                    continue
                ds = s[c2] - s[c1]
                delta = (
                    pen(d, r1.travel + d1, r1.dur + d1 + ds)
                    - r1.penalised(d)
                    + pen(d, r2.travel + d2, r2.dur + d2 - ds)
                    - r2.penalised(d)
                )
            if delta < -1e-7:
                n1[i], n2[j] = c2, c1
                r1.refresh(d)
                if k1 != k2:
                    r2.refresh(d)
                return True
    return False


def _tail(r: Route, k: int, d: Data) -> float:
    """Load from position ``k`` to the end of its trip (0 at an unload or the depot)."""
    v = r.nodes[k]
    if d.kind[v] != 1:
        return 0.0
    return r.tload[r.trip[k]] - r.load[k] + d.q[v]


def _two_opt_star(day: Day, d: Data) -> bool:
    """First improving exchange of route tails (with an idle truck: a split); applied."""
    D, s, kind, Q, via, dep = d.D, d.s, d.kind, d.Q, d.via, d.depot
    routes = list(day)
    if len(day) < d.V:
        routes.append(Route([dep, dep], d))
    for a in range(len(routes)):
        r1 = routes[a]
        n1 = r1.nodes
        for b in range(a + 1, len(routes)):
            r2 = routes[b]
            n2 = r2.nodes
            base = r1.penalised(d) + r2.penalised(d)
            for i in range(len(n1) - 1):
                x, y = n1[i], n1[i + 1]
                h1 = r1.load[i] if kind[x] == 1 else 0.0
                t1 = _tail(r1, i + 1, d)
                for j in range(len(n2) - 1):
                    if (i == 0 and j == 0) or (i == len(n1) - 2 and j == len(n2) - 2):
                        continue
                    u, v = n2[j], n2[j + 1]
                    if h1 + _tail(r2, j + 1, d) > Q + EPS:
                        continue
                    h2 = r2.load[j] if kind[u] == 1 else 0.0
                    if h2 + t1 > Q + EPS:
                        continue
                    end1 = kind[x] == 1 and v == dep  # the head needs an unload first
                    end2 = kind[u] == 1 and y == dep
                    j1 = via[x][dep] if end1 else D[x][v]
                    s1 = s[d.via_f[x][dep]] if end1 else 0.0
                    j2 = via[u][dep] if end2 else D[u][y]
                    s2 = s[d.via_f[u][dep]] if end2 else 0.0
                    tr1 = r1.cum[i] + j1 + r2.travel - r2.cum[j + 1]
                    du1 = r1.pre[i] + s[x] + j1 + s1 + r2.dur - r2.pre[j + 1]
                    tr2 = r2.cum[j] + j2 + r1.travel - r1.cum[i + 1]
                    du2 = r2.pre[j] + s[u] + j2 + s2 + r1.dur - r1.pre[i + 1]
                    if pen(d, tr1, du1) + pen(d, tr2, du2) - base < -1e-7:
                        m1 = n1[: i + 1] + n2[j + 1 :]
                        m2 = n2[: j + 1] + n1[i + 1 :]
                        m1 = _fix_end(m1, d)
                        m2 = _fix_end(m2, d)
                        new = [Route(clean(m1, d), d), Route(clean(m2, d), d)]
                        kept = [r for k, r in enumerate(routes) if k not in (a, b)]
                        day[:] = [r for r in [*kept, *new] if len(r.nodes) > 2]
                        return True
    return False


def _fix_end(nodes: list[int], d: Data) -> list[int]:
    """Make sure a route unloads right before the depot (best facility when it does not)."""
    if len(nodes) > 2 and d.kind[nodes[-2]] == 1:
        return [*nodes[:-1], d.via_f[nodes[-2]][d.depot], nodes[-1]]
    return nodes


def _two_opt(day: Day, d: Data) -> bool:
    """First improving reversal of a run of bins within one trip; applied."""
    D, kind = d.D, d.kind
    for r in day:
        n = r.nodes
        m = len(n)
        bwd = [0.0] * m
        for k in range(1, m):
            bwd[k] = bwd[k - 1] + D[n[k]][n[k - 1]]
        cum, trip = r.cum, r.trip
        for i in range(1, m - 2):
            if kind[n[i]] != 1:
                continue
            a = n[i - 1]
            for j in range(i + 1, m - 1):
                if kind[n[j]] != 1 or trip[j] != trip[i]:
                    break
                b = n[j + 1]
                delta = (
                    D[a][n[j]]
                    + bwd[j]
                    - bwd[i]
                    + D[n[i]][b]
                    - D[a][n[i]]
                    - (cum[j] - cum[i])
                    - D[n[j]][b]
                )
                if delta < -1e-7:
                    n[i : j + 1] = n[i : j + 1][::-1]
                    r.refresh(d)
                    return True
    return False


def _resplit_all(day: Day, d: Data) -> bool:
    """Place every route's unloads optimally; True when a route got cheaper."""
    better = False
    for k, r in enumerate(day):
        alt = Route(resplit(r.nodes, d), d)
        if alt.penalised(d) < r.penalised(d) - 1e-7:
            day[k] = alt
            better = True
    return better


def improve_day(day: Day, d: Data, rng: random.Random) -> None:
    """Local search on one day until no move improves it."""
    while True:
        order = [v for r in day for v in r.nodes if d.kind[v] == 1]
        rng.shuffle(order)
        if _relocate(day, d, order):
            continue
        if _two_opt(day, d):
            continue
        if _swap(day, d):
            continue
        if _two_opt_star(day, d):
            continue
        if _resplit_all(day, d):
            continue
        return
