"""Facility location: where to open sorting, transfer and landfill sites.

One immutable problem in, one decision out (``FacilityProblem`` ->
``solve_facility`` -> ``SiteDecision``), checked by the independent
``check_sites``. Models are built in bulk from numpy arrays and solved with
OR-Tools MathOpt (HiGHS by default; SCIP and CP-SAT for pure integer models).
"""

from optimizer.location.check import check_sites
from optimizer.location.economics import (
    FACTORS,
    EconomicInputs,
    PlanEconomics,
    appraise,
    evaluate_plan,
    npv,
)
from optimizer.location.orlib import read_orlib_cap
from optimizer.location.problem import MODELS, FacilityProblem, SiteDecision
from optimizer.location.robust import (
    Reliability,
    capacity_reliability,
    chance_constrained_plan,
)
from optimizer.location.siting import Candidate, SitingRules, exclude_candidates
from optimizer.location.solve import solve_facility
from optimizer.location.tiers import (
    Tier,
    TwoTierDecision,
    TwoTierProblem,
    check_two_tier,
    robust_two_tier,
    solve_two_tier,
    two_tier_reliability,
)

__all__ = [
    "FACTORS",
    "MODELS",
    "Candidate",
    "EconomicInputs",
    "FacilityProblem",
    "PlanEconomics",
    "Reliability",
    "SiteDecision",
    "SitingRules",
    "Tier",
    "TwoTierDecision",
    "TwoTierProblem",
    "appraise",
    "capacity_reliability",
    "chance_constrained_plan",
    "check_sites",
    "check_two_tier",
    "evaluate_plan",
    "exclude_candidates",
    "npv",
    "read_orlib_cap",
    "robust_two_tier",
    "solve_facility",
    "solve_two_tier",
    "two_tier_reliability",
]
