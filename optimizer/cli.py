"""The ``optimizer`` command: parse arguments, call the library, print, exit.

Exit codes: 0 success, 1 bad input, 2 infeasible model, 3 internal error. A user
mistake never prints a traceback; set ``OPTIMIZER_DEBUG=1`` to see one for bugs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from optimizer.errors import InputError, OptimizerError

log = logging.getLogger("optimizer")


def _positive_seconds(text: str) -> float:
    """A time limit: a finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        msg = f"'{text}' is not a positive number of seconds"
        raise argparse.ArgumentTypeError(msg)
    return value


def _workers(text: str) -> int:
    """A process count for the search: 1 to 8."""
    if not text.isdigit() or not 1 <= int(text) <= 8:
        msg = f"'{text}' is not a process count from 1 to 8"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _add_solver_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time-limit",
        type=_positive_seconds,
        default=None,
        metavar="S",
        help="solver time limit in seconds",
    )
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="random seed")
    parser.add_argument(
        "--days",
        type=_plan_days,
        default=None,
        metavar="N",
        help="route N consecutive days, 1-7 (default: the scenario's plan_days); "
        "the time limit applies to each day",
    )


def _plan_days(text: str) -> int:
    """A number of plan days between 1 and 7 (a week)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 7:
        msg = f"'{text}' is not a number of days from 1 to 7"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_out(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument(
        "--out",
        default=default,
        required=default is None,
        metavar="DIR",
        help="output folder",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")


class _Parser(argparse.ArgumentParser):
    """Argument parser whose usage errors exit with 1 (bad input), not argparse's 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="optimizer",
        description="Waste-logistics optimizer: sites and collection routes on real road networks.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    demo = sub.add_parser("demo", help="run the embedded offline demo scenario end to end")
    _add_out(demo, "maps/demo")
    _add_solver_options(demo)

    for name, text in (
        ("plan", "the whole pipeline for a scenario: sites, routes, maps and reports"),
        ("sites", "the facility-location stage alone"),
        (
            "routes",
            "the routing stage alone (existing facilities, or the ones chosen before)",
        ),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("scenario", help="scenario .toml file")
        _add_out(p)
        _add_solver_options(p)
        if name == "routes":
            p.add_argument(
                "--sites",
                default=None,
                metavar="PLAN_DIR",
                help="unload at the facilities opened in this earlier plan (default: existing ones)",
            )
        p.add_argument(
            "--network",
            default=None,
            metavar="FILE",
            help="road network file overriding the scenario's",
        )

    validate = sub.add_parser("validate", help="check a scenario and print every problem found")
    validate.add_argument("scenario")

    network = sub.add_parser("network", help="build a road network and save it as GraphML")
    group = network.add_mutually_exclusive_group(required=True)
    group.add_argument("--place", help='an OSM place name, e.g. "Astana, Kazakhstan" (online)')
    group.add_argument("--bbox", help="min_lon,min_lat,max_lon,max_lat (online)")
    group.add_argument(
        "--file",
        help="a local .osm/.osm.bz2/.osm.pbf/.graphml or street-centerline file",
    )
    network.add_argument("--out", required=True, metavar="G.graphml")

    compare = sub.add_parser("compare", help="compare plan folders side by side")
    compare.add_argument("plans", nargs="+", metavar="PLAN_DIR")
    compare.add_argument("--out", required=True, metavar="report.html")

    demand = sub.add_parser(
        "demand", help="waste-generation estimates per collection point and stream"
    )
    demand.add_argument("scenario")
    demand.add_argument("--season", choices=("warm", "cold", "annual"), default="annual")
    demand.add_argument("--samples", type=int, default=0, metavar="N", help="draw N demand samples")
    demand.add_argument("--seed", type=int, default=0)
    demand.add_argument("--network", default=None, metavar="FILE")
    demand.add_argument("--out", required=True, metavar="demand.csv")

    bench = sub.add_parser(
        "bench", help="solve benchmark instances and score them against best-known"
    )
    bench.add_argument("kind", choices=("cvrp", "vrptw", "wcvrptw", "cflp", "matrix"))
    bench.add_argument("--instances", metavar="DIR", help="folder of instance files")
    bench.add_argument("--time-limit", type=_positive_seconds, default=10.0, metavar="S")
    bench.add_argument("--solver", default=None, metavar="NAME")
    bench.add_argument(
        "--network",
        metavar="FILE",
        help="(matrix) road network file, or 'demo' for the embedded one",
    )
    bench.add_argument(
        "--points", type=int, default=500, metavar="N", help="(matrix) number of points"
    )
    bench.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="(optimizer) search processes per instance, 1-8; the best plan wins",
    )
    bench.add_argument("--out", required=True, metavar="results.csv")
    return parser


def _cmd_demo(args: argparse.Namespace) -> int:
    from optimizer.plan import demo_scenario_path, run_and_write

    start = time.perf_counter()
    out = run_and_write(
        demo_scenario_path(), Path(args.out), stage="plan", force=args.force,
        time_limit_s=args.time_limit, seed=args.seed, days=args.days,
    )  # fmt: skip
    print(f"Demo plan written to {out}/ in {time.perf_counter() - start:.1f} s")
    print(f"Open the map: {out / 'map.html'}")
    print(f"Report:       {out / 'report.html'}")
    return 0


def _cmd_stage(args: argparse.Namespace) -> int:
    from optimizer.plan import run_and_write

    stage = args.command
    out = run_and_write(
        Path(args.scenario), Path(args.out), stage=stage, force=args.force,
        time_limit_s=args.time_limit, seed=args.seed, days=args.days,
        network_override=Path(args.network) if args.network else None,
        sites_from=Path(args.sites) if getattr(args, "sites", None) else None,
    )  # fmt: skip
    print(f"{stage.capitalize()} written to {out}/")
    if (out / "map.html").exists():
        print(f"Open the map: {out / 'map.html'}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from optimizer.scenario import load_scenario, summarize

    scenario = load_scenario(args.scenario)
    for line in summarize(scenario):
        print(line)
    print(f"{args.scenario}: OK")
    return 0


def _cmd_network(args: argparse.Namespace) -> int:
    from optimizer import network as nw

    if args.place:
        net = nw.network_from_place(args.place)
    elif args.bbox:
        try:
            parts = tuple(float(x) for x in args.bbox.split(","))
        except ValueError:
            parts = ()
        if len(parts) != 4:
            raise InputError.one(
                "--bbox",
                "",
                f"'{args.bbox}' is not four numbers",
                "write min_lon,min_lat,max_lon,max_lat",
            )
        net = nw.network_from_bbox(parts)  # type: ignore[arg-type]
    else:
        net = nw.load_network(Path(args.file))
    nw.save_graphml(net, Path(args.out))
    print(f"{net.name}: {len(net.node_lon)} nodes, {len(net.edge_u)} edges -> {args.out}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from optimizer.report import write_comparison

    for plan_dir in args.plans:
        if not (Path(plan_dir) / "plan.json").is_file():
            raise InputError.one(
                plan_dir,
                "",
                "no plan.json in this folder",
                "pass folders written by 'optimizer plan'",
            )
    out = write_comparison([Path(p) for p in args.plans], Path(args.out))
    print(f"Comparison of {len(args.plans)} plans written to {out}")
    return 0


def _cmd_demand(args: argparse.Namespace) -> int:
    from optimizer.plan import demand_command

    text = demand_command(
        Path(args.scenario), Path(args.out), season=args.season, samples=args.samples,
        seed=args.seed, network_override=Path(args.network) if args.network else None,
    )  # fmt: skip
    print(text)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from optimizer.benchrun import run_bench_command

    text = run_bench_command(
        args.kind, instances=args.instances, time_limit_s=args.time_limit, solver=args.solver,
        network=args.network, points=args.points, out=Path(args.out), workers=args.workers,
    )  # fmt: skip
    print(text)
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": _cmd_demo,
    "plan": _cmd_stage,
    "sites": _cmd_stage,
    "routes": _cmd_stage,
    "validate": _cmd_validate,
    "network": _cmd_network,
    "compare": _cmd_compare,
    "demand": _cmd_demand,
    "bench": _cmd_bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return _COMMANDS[args.command](args)
    except OptimizerError as exc:
        label = {1: "Input error", 2: "Infeasible", 3: "Internal error"}.get(exc.exit_code, "Error")
        print(f"{label}: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # permissions, a full disk, a path that is a file
        print(f"File error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; nothing was written.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so plainly, show the trace only when asked
        print(
            f"Internal error (a bug, please report it): {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        if os.environ.get("OPTIMIZER_DEBUG"):
            traceback.print_exc()
        else:
            print("Set OPTIMIZER_DEBUG=1 to see the traceback.", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
