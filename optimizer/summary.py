"""Closing summaries: the one-line results a command prints when it is done.

Plain text formatting of a plan dictionary, kept apart from argument parsing so the
wording can be read, tested and reused without the command line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

__all__ = [
    "amount_text",
    "plan_summary",
    "routes_summary",
    "seconds_text",
    "short_reason",
    "sites_summary",
    "unserved_reasons",
]


def seconds_text(value: float) -> str:
    """A duration as people read it: 9.8 s, 112 s."""
    return f"{value:.1f} s" if value < 10 else f"{value:,.0f} s"


def amount_text(value: float, unit: str) -> str:
    """A large figure with a scale word: 45,678 KZT, 9.06 M KZT, 1.20 bn KZT."""
    for scale, word in ((1e9, "bn"), (1e6, "M")):
        if abs(value) >= scale:
            return f"{value / scale:,.2f} {word} {unit}"
    return f"{value:,.0f} {unit}"


def short_reason(reason: str) -> str:
    """A reason for an unserved stop, cut to a few words for a one-line summary."""
    text = reason.split(":", 1)[0]
    while "(" in text and ")" in text.split("(", 1)[1]:
        head, rest = text.split("(", 1)
        text = head.rstrip() + rest.split(")", 1)[1]
    words = text.split()
    return " ".join(words[:6]) + ("…" if len(words) > 6 else "")


def unserved_reasons(plan: Mapping[str, Any]) -> Counter[str]:
    """Unserved stops per reason: the plan's own tally if it has one, else counted."""
    tally = plan.get("kpis", {}).get("unserved_by_reason")
    if isinstance(tally, Mapping):
        return Counter({str(k): int(v) for k, v in tally.items() if v})
    return Counter(short_reason(str(u.get("reason", "no reason given"))) for u in plan["unserved"])


def routes_summary(plan: Mapping[str, Any]) -> str:
    """'111 routes, 4,204 of 4,615 stops served (411 unserved: 380 …), 9.06 M KZT'."""
    kpis = plan["kpis"]
    served = int(kpis.get("stops_served") or 0)
    unserved = int(kpis.get("unserved_stops") or 0)
    n_routes = len(plan["routes"])
    text = f"{n_routes:,} route{'s' if n_routes != 1 else ''}, "
    if unserved:
        why = ", ".join(f"{n:,} {r}" for r, n in unserved_reasons(plan).most_common())
        text += f"{served:,} of {served + unserved:,} stops served ({unserved:,} unserved: {why})"
    else:
        text += f"all {served:,} stops served"
    days = kpis.get("plan_days") or 1
    if days > 1:
        text += f" over {days} days"
    return text + f", {amount_text(float(kpis.get('cost_kzt') or 0), 'KZT')}"


def sites_summary(plan: Mapping[str, Any]) -> str:
    """'3 sites open (1 new), capex 1.20 bn KZT, present cost 4.10 bn KZT, …'."""
    kpis = plan["kpis"]
    opened = [f for f in plan["facilities"] if f.get("open")]
    new = sum(1 for f in opened if f.get("state") != "existing")
    parts = [f"{len(opened)} site{'s' if len(opened) != 1 else ''} open ({new} new)"]
    for key, label in (
        ("capex_kzt", "capex"),
        ("npv_kzt", "present cost"),
        ("present_cost_with_fleet_kzt", "with the routed fleet"),
    ):
        if kpis.get(key) is not None:
            parts.append(f"{label} {amount_text(float(kpis[key]), 'KZT')}")
    if kpis.get("site_transport_tkm_per_year") is not None:
        parts.append(
            f"{amount_text(float(kpis['site_transport_tkm_per_year']), 'tonne-km')} a year"
        )
    return ", ".join(parts)


def plan_summary(plan: Mapping[str, Any], stage: str, seconds: float) -> list[str]:
    """The closing lines of a plan, sites or routes run; the last one is the headline."""
    if stage == "sites":
        return [f"{sites_summary(plan)}, {seconds_text(seconds)}"]
    lines = [f"Sites: {sites_summary(plan)}"] if stage == "plan" else []
    return [*lines, f"{routes_summary(plan)}, {seconds_text(seconds)}"]
