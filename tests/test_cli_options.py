"""The command's surface: options in either place, help, version, summaries, progress."""

from __future__ import annotations

import argparse
import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

import optimizer
from optimizer import progress
from optimizer.cli import _build_parser, main
from optimizer.plan import demo_scenario_path
from optimizer.summary import plan_summary, routes_summary, short_reason, sites_summary


@pytest.mark.parametrize(
    ("argv", "verbose", "quiet"),
    [
        (["validate", "s.toml"], False, False),
        (["-v", "validate", "s.toml"], True, False),
        (["validate", "s.toml", "-v"], True, False),
        (["plan", "s.toml", "--out", "x", "--verbose"], True, False),
        (["-q", "plan", "s.toml", "--out", "x"], False, True),
        (["plan", "s.toml", "-q", "--out", "x"], False, True),
    ],
)
def test_verbose_and_quiet_before_or_after_the_command(
    argv: list[str], verbose: bool, quiet: bool
) -> None:
    args = _build_parser().parse_args(argv)
    assert (args.verbose, args.quiet) == (verbose, quiet)


def test_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    printed = capsys.readouterr().out.strip()
    assert printed == f"optimizer {optimizer.__version__}"
    assert optimizer.__version__ == version("optimizer")  # pyproject and package agree


def test_no_arguments_prints_help_and_fails_like_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("usage: optimizer")
    for command in ("demo", "plan", "sites", "routes", "validate", "compare", "bench"):
        assert re.search(rf"^\s+{command}\s+\S", err, re.M), command
    with pytest.raises(SystemExit) as info:  # the same code as any other usage error
        main(["plan"])
    assert info.value.code == 1


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_argument_has_help_listing_its_choices() -> None:
    parser = _build_parser()
    for name, sub in {"": parser, **_subparsers(parser)}.items():
        formatter = sub._get_formatter()
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            label = f"{name} {action.dest}"
            assert action.help and action.help != argparse.SUPPRESS, label
            shown = formatter._expand_help(action)  # the help line as printed
            for choice in action.choices or ():
                assert re.search(rf"\b{choice}\b", shown), f"{label}: {choice} not in {shown!r}"


# ---------------------------------------------------------------------------------
# Closing summaries


def _plan(**kpis: Any) -> dict[str, Any]:
    return {
        "routes": [{"id": f"R{i}"} for i in range(111)],
        "facilities": [
            {"id": "L1", "open": True, "state": "existing"},
            {"id": "S1", "open": True, "state": "candidate"},
            {"id": "S2", "open": False, "state": "candidate"},
        ],
        "unserved": [
            *({"reason": "left out by the optimizer: serving it costs more"} for _ in range(380)),
            *(
                {"reason": "no allowed truck can reach it within its time window and come back"}
                for _ in range(31)
            ),
        ],
        "kpis": {"stops_served": 4204, "unserved_stops": 411, "cost_kzt": 9_061_234.0, **kpis},
    }


def test_routes_summary_counts_unserved_reasons_from_the_plan() -> None:
    text = routes_summary(_plan())
    assert text.startswith("111 routes, 4,204 of 4,615 stops served (411 unserved: 380 left out")
    assert "31 no allowed truck can reach it…" in text
    assert text.endswith(", 9.06 M KZT")


def test_routes_summary_prefers_the_plans_own_tally() -> None:
    plan = _plan(unserved_by_reason={"fleet limit": 380, "time windows": 31}, plan_days=7)
    assert routes_summary(plan) == (
        "111 routes, 4,204 of 4,615 stops served (411 unserved: 380 fleet limit, "
        "31 time windows) over 7 days, 9.06 M KZT"
    )


def test_routes_summary_when_everything_is_served() -> None:
    plan = _plan(unserved_stops=0, cost_kzt=68194.4)
    plan["routes"] = plan["routes"][:1]
    assert routes_summary(plan) == "1 route, all 4,204 stops served, 68,194 KZT"


def test_sites_summary() -> None:
    plan = _plan(capex_kzt=1.2e9, npv_kzt=4_105_000_000, site_transport_tkm_per_year=8806)
    assert sites_summary(plan) == (
        "2 sites open (1 new), capex 1.20 bn KZT, present cost 4.11 bn KZT, 8,806 tonne-km a year"
    )
    assert plan_summary(plan, "sites", 5.04) == [f"{sites_summary(plan)}, 5.0 s"]
    assert plan_summary(plan, "plan", 112.4)[-1] == f"{routes_summary(plan)}, 112 s"


def test_short_reason_drops_details() -> None:
    assert short_reason("its area (msw north) could not be routed: no truck") == (
        "its area could not be routed"
    )


def test_stage_run_ends_with_a_summary_matching_the_plan_and_reports_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sites"
    assert main(["sites", str(demo_scenario_path()), "--out", str(out), "--time-limit", "2"]) == 0
    captured = capsys.readouterr()
    plan = json.loads((out / "plan.json").read_text())
    last = captured.out.strip().splitlines()[-1]
    assert last.startswith(sites_summary(plan) + ", ")
    assert re.search(r"\] loading the scenario…$", captured.err, re.M)
    assert re.search(r"\] sites \(\d+ s\)…$", captured.err, re.M)
    assert progress.set_reporter(None) is None  # the command put the silence back


def test_quiet_run_prints_no_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sites"
    argv = ["sites", str(demo_scenario_path()), "--out", str(out), "--time-limit", "2", "-q"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "…" not in captured.err
    assert "sites open" in captured.out.splitlines()[-1]


def test_progress_reaches_only_an_installed_reporter() -> None:
    lines: list[str] = []
    progress.report("before")  # no reporter: dropped
    with progress.reporting(lines.append):
        progress.report("sites…")
    progress.report("after")
    assert lines == ["sites…"]


def test_validate_checks_the_network_given_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "city.graphml"
    assert main(["validate", str(demo_scenario_path()), "--network", str(missing)]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "not found" in err
    assert main(["validate", str(demo_scenario_path())]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.strip().startswith("road network:") for line in out)
    assert re.fullmatch(r".*scenario\.toml: OK, \d+\.\d s", out[-1])


# ---------------------------------------------------------------------------------
# Values the parser refuses (exit 1, a message naming the option and the range)

SCENARIO = str(demo_scenario_path())


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("seed", ["-1", "2147483648", "1.5", "abc", ""])
@pytest.mark.parametrize(
    "command",
    [
        ["demo"],
        ["plan", SCENARIO, "--out", "x"],
        ["sites", SCENARIO, "--out", "x"],
        ["routes", SCENARIO, "--out", "x"],
        ["demand", SCENARIO, "--out", "x.csv"],
    ],
)
def test_seed_is_a_whole_number_the_solvers_accept(
    command: list[str], seed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _usage_error([*command, "--seed", seed], capsys)
    assert f"argument --seed: '{seed}' is not a whole number from 0 to 2147483647" in err


def test_largest_seed_and_time_limit_are_accepted() -> None:
    parser = _build_parser()
    args = parser.parse_args(["plan", "s.toml", "--out", "x", "--seed", "2147483647"])
    assert args.seed == 2**31 - 1
    args = parser.parse_args(["demand", "s.toml", "--out", "x.csv", "--seed", "0"])
    assert args.seed == 0
    args = parser.parse_args(["demo", "--time-limit", "86400"])
    assert args.time_limit == 86_400.0


@pytest.mark.parametrize("limit", ["1e9", "100000", "86400.5"])
@pytest.mark.parametrize(
    "command", [["demo"], ["plan", SCENARIO, "--out", "x"], ["bench", "cvrp", "--out", "r.csv"]]
)
def test_time_limit_is_at_most_a_day(
    command: list[str], limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _usage_error([*command, "--time-limit", limit], capsys)
    assert f"'{limit}' seconds is more than a day; give at most 86,400" in err


def test_command_line_bounds_are_the_scenarios() -> None:
    from optimizer import cli
    from optimizer.scenario import limits

    assert cli.MAX_SEED == limits.MAX_SEED
    assert cli.MAX_TIME_LIMIT_S == limits.MAX_TIME_LIMIT_S


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        (["demo"], "give a folder name"),
        (["plan", SCENARIO], "give a folder name"),
        (["compare", "a", "b"], "give a file name"),
        (["demand", SCENARIO], "give a file name"),
        (["network", "--file", "g.osm"], "give a file name"),
        (["bench", "cvrp"], "give a file name"),
    ],
)
def test_empty_out_is_refused(
    command: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _usage_error([*command, "--out", ""], capsys)
    assert "--out is empty" in err and needle in err


@pytest.mark.parametrize("command", ["compare", "demand", "network", "bench"])
def test_single_file_commands_take_force(command: str) -> None:
    assert "--force" in _subparsers(_build_parser())[command].format_help()
