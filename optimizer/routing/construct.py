"""A fast greedy first solution for waste problems (unload trips, breaks).

OR-Tools' insertion heuristics insert one node at a time, but with the reload
pattern a stop can only join an empty route together with an unload visit, so
they can fail or crawl on large instances. This builds routes truck by truck,
always taking the stop that can start service soonest, going to the nearest
accepting facility when the truck is full, and finishing with an unload. The
sequences only seed the search: OR-Tools re-times them and checks them.
"""

from __future__ import annotations

import numpy as np

from optimizer.routing.problem import RoutingProblem, Vehicle

Sequences = dict[str, list[int]]
SAFETY_S = 0  # slack kept on the shift end and the latest break start (900 did not help)


def _accepting(p: RoutingProblem, streams: set[str]) -> list[int]:
    return [
        f for f in p.facilities if f not in p.facility_streams or streams <= p.facility_streams[f]
    ]


def greedy_routes(
    p: RoutingProblem, stops: tuple[int, ...], *, partial: bool = False
) -> Sequences | None:
    """Per vehicle, the stops and unloads in order; None if some stop is left over
    (unless ``partial``: optional stops may be left for the search to report)."""
    left = np.zeros(p.n, dtype=bool)
    left[list(stops)] = True
    tw0, tw1 = p.time_window[:, 0], p.time_window[:, 1]
    out: Sequences = {}
    for v in p.vehicles:
        if not left.any():
            break
        seq = _one_route(p, v, left)
        if seq:
            out[v.id] = seq
    if left.any() and not (partial and out):
        return None
    del tw0, tw1
    return out


def _one_route(
    p: RoutingProblem, v: Vehicle, left: np.ndarray, breaks: list[int] | None = None
) -> list[int]:
    sf = v.speed_factor
    travel = np.rint(p.time_s * sf).astype(np.int64)
    may = np.array([p.kind[i] == "stop" and p.vehicle_may_serve(v, i) for i in range(p.n)])
    facilities = list(p.facilities)
    t = p.departure_window(v)[0]  # leave at the shift start
    shift_end = min(p.return_by(v), t + v.shift_s) - SAFETY_S
    pos = v.start
    kg = litres = day_kg = day_l = count = 0
    on_board: set[str] = set()
    seq: list[int] = []
    has_break = v.break_window is not None and v.break_s > 0
    bw0, bw1 = v.break_window if v.break_window is not None else (0, 0)
    bw1 = max(bw0, bw1 - SAFETY_S)
    taken = not has_break
    # time to finish from each node: nearest facility (if any) then the depot
    if facilities:
        via = (
            travel[:, facilities]
            + p.service_s[facilities][None, :]
            + travel[facilities, v.end][None, :]
        )
        finish = via.min(axis=1)
    else:
        finish = travel[:, v.end]
    cap_kg = v.capacity_kg
    cap_l = v.capacity_l
    day_cap_kg = v.day_capacity_kg if v.day_capacity_kg is not None else 2**62
    day_cap_l = v.day_capacity_l if v.day_capacity_l is not None else 2**62
    max_stops = v.max_stops if v.max_stops is not None else 2**62
    use_l = bool(p.demand_l.any())
    names = sorted({str(x) for x in p.stream if x is not None})
    codes = np.array([-1 if x is None else names.index(x) for x in p.stream])

    def take_break() -> None:
        nonlocal t, taken
        if breaks is not None:
            breaks.append(len(seq))  # the break follows seq[len(seq) - 1]
        t = max(t, bw0) + v.break_s
        taken = True

    def unload(final: bool = False) -> bool:
        nonlocal t, pos, kg, litres, on_board
        options = _accepting(p, on_board)
        if not options:
            return False

        def key(x: int) -> int:
            if final:  # the facility that gets the truck home soonest
                return int(travel[pos, x] + p.service_s[x] + travel[x, v.end])
            return int(travel[pos, x])

        f = min(options, key=key)
        if not taken and t + int(travel[pos, f] + p.service_s[f]) > bw1:
            take_break()  # the unload would run past the latest break start
        arrive = max(t + int(travel[pos, f]), int(p.time_window[f, 0]))
        if arrive > p.time_window[f, 1]:
            return False
        if not final and arrive + int(p.service_s[f]) + int(travel[f, v.end]) > shift_end:
            return False
        seq.append(f)
        t = arrive + int(p.service_s[f])
        pos = f
        kg = litres = 0
        on_board = set()
        return True

    while True:
        if not taken and t >= bw0:
            take_break()
        cand = np.flatnonzero(left & may)
        if cand.size == 0 or count >= max_stops:
            break
        arrive = np.maximum(t + travel[pos, cand], p.time_window[cand, 0])
        extra = 0 if taken else v.break_s
        done = arrive + p.service_s[cand] + finish[cand] + extra
        ok = (arrive <= p.time_window[cand, 1]) & (done <= shift_end)
        ok &= day_kg + p.demand_kg[cand] <= day_cap_kg
        ok &= day_l + p.demand_l[cand] <= day_cap_l
        if not taken:
            # service must end before the latest break start, or start after a break
            ok &= arrive + p.service_s[cand] <= bw1
        fits = ok & (kg + p.demand_kg[cand] <= cap_kg)
        if use_l:
            fits &= litres + p.demand_l[cand] <= cap_l
        if facilities and on_board:
            fine = [k for k, s in enumerate(names) if _accepting(p, on_board | {s})]
            fits &= (codes[cand] < 0) | np.isin(codes[cand], fine)
        if fits.any():
            score = (arrive - t)[fits] + 0.001 * p.distance_m[pos, cand[fits]]
            c = int(cand[fits][int(np.argmin(score))])
            t = int(max(t + travel[pos, c], p.time_window[c, 0])) + int(p.service_s[c])
            pos = c
            kg += int(p.demand_kg[c])
            litres += int(p.demand_l[c])
            day_kg += int(p.demand_kg[c])
            day_l += int(p.demand_l[c])
            count += 1
            if p.stream[c] is not None:
                on_board.add(str(p.stream[c]))
            left[c] = False
            seq.append(c)
            continue
        if ok.any() and facilities and (kg or litres) and unload():
            continue
        if not taken and t < bw0 and ok.size:
            t = bw0  # wait for the break window, take the break, go on
            continue
        break
    if facilities and (kg or litres):
        unload(final=True)
    return seq
