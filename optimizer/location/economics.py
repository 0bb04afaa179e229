r"""Economics and emissions of a site plan: capex, opex, transport, NPV, CO2e.

Every factor below names its public source (listed in ``docs/sources.md``,
sections *economics* and *emissions*).  Factors computed from sourced figures
say "computed from"; defaults not checked against the source text say
"unverified estimate".

Net present cost over a horizon of :math:`T` years with discount rate :math:`r`
and demand growth :math:`g` (variable costs scale with demand):

.. math::

    \mathrm{NPV} = \mathrm{capex} + \sum_{t=1}^{T}
    \frac{\mathrm{opex}_{fix} + (\mathrm{opex}_{var} + \mathrm{transport})\,
    (1+g)^{t-1} - \mathrm{revenue}\,(1+g)^{t-1}}{(1+r)^t}.

Emissions per year: transport :math:`e_{tkm} \cdot \text{tonne-km}`; landfilled
organics :math:`e_{lf} \cdot t_{landfilled}`; avoided by recycling
:math:`- e_{rec} \cdot t_{recycled}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from optimizer.location.problem import FacilityProblem, FloatArray, SiteDecision


@dataclass(frozen=True)
class Factor:
    """A number with its unit and source."""

    value: float
    unit: str
    source: str


#: Default factors, each with its public source (see ``docs/sources.md``).
FACTORS: dict[str, Factor] = {
    "capex_sorting_kzt_per_t_year": Factor(
        9_600.0,
        "KZT per t/yr of capacity",
        "computed from Green Recycle Almaty, 5.3 bn KZT for 550 kt/yr, 2017-18 "
        "(caravan.kz; docs/sources.md#economics)",
    ),
    "capex_sorting_basic_kzt_per_t_year": Factor(
        5_000.0,
        "KZT per t/yr of capacity",
        "computed from the Shymkent manual sorting line, >1 bn KZT for 200 kt/yr, ~2015 "
        "(inform.kz; docs/sources.md#economics)",
    ),
    "capex_wte_usd_per_t_year": Factor(
        330.0,
        "USD per t/yr",
        "computed from the Astana waste-to-energy plant, $180 M for 550 kt/yr "
        "(kazpravda.kz; docs/sources.md#economics)",
    ),
    "truck_co2e_kg_per_tkm": Factor(
        0.095,
        "kg CO2e per tonne-km",
        "GLEC rigid truck 26-32 t, via climatiq.io (docs/sources.md#emissions)",
    ),
    "diesel_co2e_kg_per_l": Factor(
        2.66, "kg CO2e per litre", "DEFRA 2024 diesel (docs/sources.md#emissions)"
    ),
    "landfill_msw_co2e_t_per_t": Factor(
        1.2,
        "t CO2e per t of mixed MSW landfilled",
        "computed with the IPCC 2006 first-order-decay defaults for a Kazakh "
        "composition, MCF 1.0, GWP100 CH4 = 28; unverified estimate: the defaults "
        "were not checked against the IPCC tables (docs/sources.md#emissions)",
    ),
    "landfill_food_co2e_t_per_t": Factor(
        1.4,
        "t CO2e per t of food waste landfilled",
        "computed with IPCC 2006: DOC 0.15 x DOCf 0.5 x F 0.5 x 16/12 x MCF 1.0 = "
        "0.05 t CH4/t, x GWP 28; unverified estimate: the defaults were not checked "
        "against the IPCC tables (docs/sources.md#emissions)",
    ),
    "recycling_avoided_co2e_t_per_t": Factor(
        3.2,
        "t CO2e avoided per t of mixed recyclables recycled",
        "EPA WARM v15: 2.94 t CO2e per short ton (docs/sources.md#emissions)",
    ),
}


@dataclass(frozen=True)
class EconomicInputs:
    """Money and time assumptions of one appraisal (units in the names)."""

    horizon_years: int = 20
    discount_rate: float = 0.08  # assumption: scenario choice
    demand_growth: float = 0.02  # assumption: scenario choice
    days_per_year: float = 365.0
    transport_kzt_per_tkm: float = 60.0  # assumption: scenario choice
    factors: Mapping[str, Factor] = field(default_factory=lambda: dict(FACTORS))


@dataclass(frozen=True)
class PlanEconomics:
    """The economics of one site plan (per year unless the name says otherwise)."""

    capex_kzt: float
    opex_kzt_per_year: float
    transport_tkm_per_year: float
    transport_kzt_per_year: float
    npv_kzt: float
    co2e_transport_t_per_year: float
    co2e_landfill_t_per_year: float
    co2e_avoided_t_per_year: float
    co2e_net_t_per_year: float
    assumptions: tuple[str, ...]


def npv(
    capex: float,
    fixed_per_year: float,
    variable_per_year: float,
    *,
    years: int,
    rate: float,
    growth: float,
) -> float:
    """Net present cost (see module docstring); positive = cost."""
    t = np.arange(1, years + 1, dtype=float)
    flows = fixed_per_year + variable_per_year * (1.0 + growth) ** (t - 1)
    return float(capex + np.sum(flows / (1.0 + rate) ** t))


def tonne_km(problem: FacilityProblem, decision: SiteDecision, distance_km: FloatArray) -> float:
    """Tonne-km per period of the decision's flows over ``distance_km`` (n x m)."""
    fidx = {f: j for j, f in enumerate(problem.facility_ids)}
    total = 0.0
    for i, c in enumerate(problem.client_ids):
        for f, share in decision.flows.get(c, {}).items():
            total += float(problem.demand[i]) * share * float(distance_km[i, fidx[f]])
    return total


def appraise(
    *,
    capex_kzt: float,
    opex_kzt_per_year: float,
    transport_tkm_per_year: float,
    transport_kzt_per_year: float,
    landfilled_t_per_year: float,
    recycled_t_per_year: float,
    landfill_factor: str = "landfill_msw_co2e_t_per_t",
    inputs: EconomicInputs | None = None,
) -> PlanEconomics:
    """NPV and CO2e of a site plan from its yearly totals (any model's flows)."""
    inp = inputs or EconomicInputs()
    f = inp.factors
    co2_t = transport_tkm_per_year * f["truck_co2e_kg_per_tkm"].value / 1000.0
    co2_lf = landfilled_t_per_year * f[landfill_factor].value
    co2_av = recycled_t_per_year * f["recycling_avoided_co2e_t_per_t"].value
    value = npv(
        capex_kzt,
        opex_kzt_per_year,
        transport_kzt_per_year,
        years=inp.horizon_years,
        rate=inp.discount_rate,
        growth=inp.demand_growth,
    )
    notes = tuple(
        f"{k} = {v.value:g} {v.unit} — {v.source}"
        for k, v in f.items()
        if k in ("truck_co2e_kg_per_tkm", landfill_factor, "recycling_avoided_co2e_t_per_t")
    )
    notes += (
        f"discount rate {inp.discount_rate:.1%}, demand growth {inp.demand_growth:.1%}"
        f"/yr, horizon {inp.horizon_years} yr, transport {inp.transport_kzt_per_tkm:g}"
        " KZT/t-km (scenario settings)",
    )
    return PlanEconomics(
        capex_kzt=capex_kzt,
        opex_kzt_per_year=opex_kzt_per_year,
        transport_tkm_per_year=transport_tkm_per_year,
        transport_kzt_per_year=transport_kzt_per_year,
        npv_kzt=value,
        co2e_transport_t_per_year=co2_t,
        co2e_landfill_t_per_year=co2_lf,
        co2e_avoided_t_per_year=co2_av,
        co2e_net_t_per_year=co2_t + co2_lf - co2_av,
        assumptions=notes,
    )


def evaluate_plan(
    problem: FacilityProblem,
    decision: SiteDecision,
    *,
    distance_km: FloatArray,
    capex_kzt: FloatArray,
    opex_kzt_per_year: FloatArray,
    landfilled_t_per_year: float,
    recycled_t_per_year: float,
    landfill_factor: str = "landfill_msw_co2e_t_per_t",
    inputs: EconomicInputs | None = None,
    demand_per_day: bool = True,
) -> PlanEconomics:
    """Capex, opex, transport, NPV and CO2e of the open sites of ``decision``.

    ``capex_kzt`` / ``opex_kzt_per_year`` are per candidate (m,). Demand is in
    tonnes per day when ``demand_per_day`` (scaled by ``days_per_year``).
    """
    inp = inputs or EconomicInputs()
    fidx = {fid: j for j, fid in enumerate(problem.facility_ids)}
    open_j = [fidx[o] for o in decision.open_ids]
    scale = inp.days_per_year if demand_per_day else 1.0
    tkm = tonne_km(problem, decision, distance_km) * scale
    return appraise(
        capex_kzt=float(np.sum(np.asarray(capex_kzt)[open_j])),
        opex_kzt_per_year=float(np.sum(np.asarray(opex_kzt_per_year)[open_j])),
        transport_tkm_per_year=tkm,
        transport_kzt_per_year=tkm * inp.transport_kzt_per_tkm,
        landfilled_t_per_year=landfilled_t_per_year,
        recycled_t_per_year=recycled_t_per_year,
        landfill_factor=landfill_factor,
        inputs=inp,
    )


def sorting_capex_kzt(capacity_t_per_year: float, *, basic: bool = False) -> float:
    """Capex of a sorting plant from the unit costs above (docs/sources.md#economics)."""
    key = "capex_sorting_basic_kzt_per_t_year" if basic else "capex_sorting_kzt_per_t_year"
    return capacity_t_per_year * FACTORS[key].value


def annualised(capex: float, rate: float, years: int) -> float:
    """Equivalent annual cost of ``capex`` (capital recovery factor)."""
    if rate == 0:
        return capex / years
    crf = rate * (1 + rate) ** years / ((1 + rate) ** years - 1)
    return capex * crf
