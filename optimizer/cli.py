"""The ``optimizer`` command: parse arguments, call the library, print, exit.

Exit codes: 0 success, 1 bad input (usage errors included), 2 infeasible model,
3 internal error, 130 interrupted (Ctrl-C or SIGTERM before the output is in place;
one arriving after it ends the run normally, saying so). A user mistake never prints a
traceback; set ``OPTIMIZER_DEBUG=1`` to see one for bugs. Every command ends with a
line saying what it achieved; long runs print a progress line per stage to stderr.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn, cast

from optimizer import __version__, progress
from optimizer.errors import InputError, OptimizerError
from optimizer.summary import plan_summary, seconds_text

if TYPE_CHECKING:  # pragma: no cover - the pipeline is imported only when a command needs it
    from optimizer.plan import Written

log = logging.getLogger("optimizer")

# ---------------------------------------------------------------------------------
# Arguments


# The scenario's bounds (optimizer.scenario.limits), repeated here so that parsing the
# command line imports nothing heavy; a test checks that they agree.
MAX_TIME_LIMIT_S = 86_400.0
MAX_SEED = 2**31 - 1


def _positive_seconds(text: str) -> float:
    """A time limit: a number of seconds above zero, at most a day."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        msg = f"'{text}' is not a positive number of seconds"
        raise argparse.ArgumentTypeError(msg)
    if value > MAX_TIME_LIMIT_S:
        msg = f"'{text}' seconds is more than a day; give at most {MAX_TIME_LIMIT_S:,.0f}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _seed(text: str) -> int:
    """A random seed: a whole number the solvers accept (0 to 2,147,483,647)."""
    if not text.isdigit() or int(text) > MAX_SEED:
        msg = f"'{text}' is not a whole number from 0 to {MAX_SEED}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _out_folder(text: str) -> str:
    """An --out folder: any non-empty path (what is there is checked before the run)."""
    if not text.strip():
        msg = "--out is empty: give a folder name, e.g. --out plans/city"
        raise argparse.ArgumentTypeError(msg)
    return text


def _out_file(text: str) -> str:
    """An --out file: any non-empty path."""
    if not text.strip():
        msg = "--out is empty: give a file name"
        raise argparse.ArgumentTypeError(msg)
    return text


def _metres(text: str) -> float:
    """A length in metres above zero (at most 1,000 km)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1_000_000:
        msg = f"'{text}' is not a length in metres above 0"
        raise argparse.ArgumentTypeError(msg)
    return value


def _workers(text: str) -> int:
    """A process count for the search: 1 to 8."""
    if not text.isdigit() or not 1 <= int(text) <= 8:
        msg = f"'{text}' is not a process count from 1 to 8"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


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


def _count(text: str) -> int:
    """A whole number, zero or more."""
    if not text.isdigit():
        msg = f"'{text}' is not a whole number (0 or more)"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _add_solver_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time-limit",
        type=_positive_seconds,
        default=None,
        metavar="S",
        help="time limit of the whole run in seconds: loading the network and the "
        "matrix, sites, then routes (default: the scenario's [solver] time_limit_s); "
        "assembling the plan and writing the folder add a little (seconds on a city)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=None,
        metavar="N",
        help="random seed of the solvers (default: the scenario's)",
    )
    parser.add_argument(
        "--days",
        type=_plan_days,
        default=None,
        metavar="N",
        help="route N consecutive days, 1-7 (default: the scenario's plan_days); "
        "the days share the time limit",
    )
    for flag, choices, what in _SOLVER_CHOICES:
        parser.add_argument(flag, choices=choices, default=None, help=what)


#: Command-line overrides of [solver] keys: flag, choices, help.
_SOLVER_CHOICES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "--location-model",
        ("auto", "two-tier", "cflp", "p-median", "routes"),
        "site model: auto, two-tier, cflp, p-median or routes (compares the site options "
        "by the collection routes they induce); default: the scenario's [solver] location_model",
    ),
    (
        "--engine",
        ("auto", "ortools", "pyvrp"),
        "routing engine: auto races OR-Tools and PyVRP and keeps the cheaper verified "
        "plan; ortools or pyvrp forces one (default: the scenario's [solver] engine)",
    ),
    (
        "--calendar",
        ("auto", "chosen", "fixed"),
        "which days a container emptied every k days is collected on: chosen (wedges "
        "around each depot of equal work, even days), fixed (a stable hash of the point id), auto "
        "(chosen for several days; default: the scenario's [solver] calendar)",
    ),
)


def _add_out(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    where = f" (default: {default})" if default else ""
    parser.add_argument(
        "--out",
        type=_out_folder,
        default=default,
        required=default is None,
        metavar="DIR",
        help=f"plan folder to create{where}",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an existing plan folder written earlier; never a link, a folder "
        "holding the inputs or other files, the current or home folder",
    )


def _add_out_file(parser: argparse.ArgumentParser, metavar: str, text: str, what: str) -> None:
    """--out and --force of a command writing one file."""
    parser.add_argument("--out", type=_out_file, required=True, metavar=metavar, help=text)
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"replace an existing {what} written earlier; never an input or another file",
    )


def _add_network(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--network",
        default=None,
        metavar="FILE",
        help="road network file overriding the scenario's",
    )


class _Parser(argparse.ArgumentParser):
    """Argument parser whose usage errors exit with 1 (bad input), not argparse's 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def _output_options(*, top: bool) -> _Parser:
    """-v and -q, accepted before and after the command.

    Below the command they default to SUPPRESS, so that an option given before the
    command is not reset by the command's own parser.
    """
    parser = _Parser(add_help=False)
    default = False if top else argparse.SUPPRESS
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="log details of each stage"
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="no progress lines; only the closing summary, warnings and errors",
    )
    return parser


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="optimizer",
        description="Waste-logistics optimizer: sites and collection routes on real road networks.",
        epilog="Exit codes: 0 done, 1 bad input, 2 infeasible model, 3 internal error, "
        "130 interrupted. 'optimizer COMMAND -h' explains a command.",
        parents=[_output_options(top=True)],
    )
    parser.add_argument(
        "--version", action="version", version=f"optimizer {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = [_output_options(top=False)]

    def add(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, parents=common)

    demo = add("demo", "run the embedded offline demo scenario end to end")
    _add_out(demo, "maps/demo")
    _add_solver_options(demo)

    for name, text in (
        ("plan", "the whole pipeline for a scenario: sites, routes, maps and reports"),
        ("sites", "the facility-location stage alone"),
        ("routes", "the routing stage alone (existing facilities, or the ones chosen before)"),
    ):
        p = add(name, text)
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
        _add_network(p)

    validate = add(
        "validate",
        "check a scenario (files, records, road network, snapping) and print every problem found",
    )
    validate.add_argument("scenario", help="scenario .toml file")
    _add_network(validate)

    network = add("network", "build a road network and save it as GraphML")
    group = network.add_mutually_exclusive_group(required=True)
    group.add_argument("--place", help='an OSM place name, e.g. "Astana, Kazakhstan" (online)')
    group.add_argument("--bbox", help="min_lon,min_lat,max_lon,max_lat (online)")
    group.add_argument(
        "--file",
        help="a local .osm/.osm.bz2/.osm.pbf/.graphml, Geofabrik .shp/.zip or centerline file",
    )
    network.add_argument(
        "--max-segment-m",
        type=_metres,
        metavar="M",
        help="(centerline files) cut straight segments longer than M metres that join "
        "separate parts of a street; kept only where the streets offer no short detour",
    )
    _add_out_file(network, "G.graphml", "GraphML file to write", "GraphML network")

    compare = add("compare", "compare plan folders side by side")
    compare.add_argument("plans", nargs="+", metavar="PLAN_DIR", help="plan folders to compare")
    _add_out_file(
        compare,
        "report.html",
        "HTML file to write (or a folder, which gets compare.html)",
        "comparison page",
    )

    demand = add("demand", "waste-generation estimates per collection point and stream")
    demand.add_argument("scenario", help="scenario .toml file")
    demand.add_argument(
        "--season",
        choices=("warm", "cold", "annual"),
        default="annual",
        help="season of the estimates, one of %(choices)s (default: %(default)s)",
    )
    demand.add_argument(
        "--samples",
        type=_count,
        default=0,
        metavar="N",
        help="draw N random demand samples instead of the expected values",
    )
    demand.add_argument(
        "--seed", type=_seed, default=0, metavar="N", help="seed of the samples (default: 0)"
    )
    _add_network(demand)
    _add_out_file(demand, "demand.csv", "CSV file to write", "demand CSV")

    bench = add("bench", "solve benchmark instances and score them against best-known")
    bench.add_argument(
        "kind",
        choices=("cvrp", "vrptw", "wcvrptw", "cflp", "lrp", "pvrpif", "matrix"),
        help="benchmark, one of %(choices)s (lrp: location-routing, Prodhon; pvrpif: "
        "periodic VRP with intermediate facilities; matrix: travel-matrix timing)",
    )
    bench.add_argument("--instances", metavar="DIR", help="folder of instance files")
    bench.add_argument(
        "--time-limit",
        type=_positive_seconds,
        default=10.0,
        metavar="S",
        help="seconds per instance (default: %(default)s)",
    )
    bench.add_argument(
        "--solver",
        default=None,
        metavar="NAME",
        help="routing: optimizer (default), ortools, pyvrp or vroom; cflp: a MathOpt "
        "solver such as highs or scip",
    )
    bench.add_argument(
        "--network",
        metavar="FILE",
        help="(matrix) road network file, or 'demo' for the embedded one",
    )
    bench.add_argument(
        "--points",
        type=_count,
        default=500,
        metavar="N",
        help="(matrix) number of points (default: %(default)s)",
    )
    bench.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="(optimizer) search processes per instance, 1-8; the best plan wins",
    )
    _add_out_file(bench, "results.csv", "CSV file to write", "benchmark CSV")

    sweep = add("sweep", "run many variants of a scenario on Dask: one row of KPIs per case")
    sweep.add_argument("sweep_file", metavar="SWEEP.toml", help="sweep file (docs/sweeps.md)")
    sweep.add_argument(
        "--out", type=_out_folder, required=True, metavar="DIR",
        help="folder for results.csv, results.parquet, sweep.html and cases/<case>/",
    )  # fmt: skip
    sweep.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)",
    )  # fmt: skip
    sweep.add_argument(
        "--workers", type=_count, default=None, metavar="N",
        help="local worker processes (default: one per core)",
    )  # fmt: skip
    sweep.add_argument(
        "--resume", action="store_true", help="skip the cases whose results are in --out"
    )
    sweep.add_argument(
        "--force", action="store_true", help="replace a sweep folder written earlier"
    )
    sweep.add_argument(
        "--time-limit", type=_positive_seconds, default=None, metavar="S",
        help="seconds per case (default: the sweep file's, else the scenario's)",
    )  # fmt: skip
    return parser


# ---------------------------------------------------------------------------------
# Commands


def _elapsed(args: argparse.Namespace) -> str:
    """The command's wall time so far, for its closing line."""
    return seconds_text(time.perf_counter() - args.started)


def _print_plan(written: Written, stage: str, title: str) -> None:
    """Where the plan went, then its summary lines (the headline last)."""
    out = written.out
    print(f"{title} written to {out}/")
    if (out / "map.html").exists():
        print(f"Open the map: {out / 'map.html'}")
        print(f"Report:       {out / 'report.html'}")
    for line in plan_summary(written.plan, stage, written.seconds):
        print(line)


def _cmd_demo(args: argparse.Namespace) -> int:
    from optimizer.plan import demo_scenario_path, run_plan

    written = run_plan(
        demo_scenario_path(), Path(args.out), stage="plan", force=args.force,
        time_limit_s=args.time_limit, seed=args.seed, days=args.days,
        calendar=args.calendar, engine=args.engine, location_model=args.location_model,
    )  # fmt: skip
    _print_plan(written, "plan", "Demo plan")
    return 0


def _cmd_stage(args: argparse.Namespace) -> int:
    from optimizer.plan import run_plan

    stage = args.command
    written = run_plan(
        Path(args.scenario), Path(args.out), stage=stage, force=args.force,
        time_limit_s=args.time_limit, seed=args.seed, days=args.days,
        calendar=args.calendar, engine=args.engine, location_model=args.location_model,
        network_override=Path(args.network) if args.network else None,
        sites_from=Path(args.sites) if getattr(args, "sites", None) else None,
    )  # fmt: skip
    _print_plan(written, stage, stage.capitalize())
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from optimizer.validate import validate_scenario_file

    progress.report("checking the scenario, its road network and the snapping…")
    lines = validate_scenario_file(
        Path(args.scenario), network_override=Path(args.network) if args.network else None
    )
    for line in lines:
        print(line)
    print(f"{args.scenario}: OK, {_elapsed(args)}")
    return 0


def _cmd_network(args: argparse.Namespace) -> int:
    from optimizer import network as nw
    from optimizer.outputs import check_output_file, is_graphml, write_file

    out = Path(args.out)
    inputs = [Path(args.file)] if args.file else []

    def check() -> None:
        check_output_file(out, inputs, force=args.force, ours=is_graphml, what="GraphML network")

    check()
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
        net = nw.load_network(Path(args.file), max_segment_m=args.max_segment_m)
    check()  # again: building the network may have taken minutes
    write_file(out, lambda tmp: nw.save_graphml(net, tmp))
    print(
        f"{net.name}: {len(net.node_lon):,} nodes, {len(net.edge_u):,} edges written to "
        f"{args.out}, {_elapsed(args)}"
    )
    return 0


def _read_plan_json(plan_dir: str) -> None:
    """Check that a folder given to compare holds a readable plan.json."""
    path = Path(plan_dir) / "plan.json"
    if not path.is_file():
        raise InputError.one(
            plan_dir, "", "no plan.json in this folder", "pass folders written by 'optimizer plan'"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InputError.one(
            str(path),
            "",
            f"not valid JSON ({exc})",
            "pass a plan folder written by 'optimizer plan', or write that plan again",
        ) from exc
    if not isinstance(data, dict):
        raise InputError.one(
            str(path),
            "",
            "not a plan (the file holds no JSON object)",
            "pass a plan folder written by 'optimizer plan'",
        )


def _cmd_compare(args: argparse.Namespace) -> int:
    from optimizer.outputs import COMPARE_MARKER, check_output_file, has_marker, write_file
    from optimizer.report import write_comparison

    for plan_dir in args.plans:
        _read_plan_json(plan_dir)
    plans = [Path(p) for p in args.plans]
    out = Path(args.out)
    if out.is_dir():
        out = out / "compare.html"
    check_output_file(
        out,
        force=args.force,
        ours=has_marker(COMPARE_MARKER),
        what="comparison page",
        input_folders=plans,
    )
    try:
        write_file(out, lambda tmp: write_comparison(plans, tmp))
    except ValueError as exc:  # a plan.json that is JSON but not a plan
        if isinstance(exc, OptimizerError):
            raise
        raise InputError.one(
            " ".join(args.plans),
            "",
            f"a plan.json could not be read ({type(exc).__name__}: {exc})",
            "pass plan folders written by 'optimizer plan'",
        ) from exc
    print(f"Comparison of {len(args.plans)} plans written to {out}, {_elapsed(args)}")
    return 0


def _cmd_demand(args: argparse.Namespace) -> int:
    from optimizer.plan import demand_command

    text = demand_command(
        Path(args.scenario), Path(args.out), season=args.season, samples=args.samples,
        seed=args.seed, network_override=Path(args.network) if args.network else None,
        force=args.force,
    )  # fmt: skip
    print(f"{text}, {_elapsed(args)}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from optimizer.benchrun import run_bench_command

    text = run_bench_command(
        args.kind, instances=args.instances, time_limit_s=args.time_limit, solver=args.solver,
        network=args.network, points=args.points, out=Path(args.out), workers=args.workers,
        force=args.force,
    )  # fmt: skip
    print(f"{text}, {_elapsed(args)}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from optimizer.sweep import run_sweep

    def show(done: int, failed: int, total: int, left: float | None) -> None:
        eta = f", about {seconds_text(left)} left" if left is not None and done < total else ""
        print(f"[sweep] {done}/{total} cases done, {failed} failed{eta}", file=sys.stderr)

    frame = run_sweep(
        Path(args.sweep_file), Path(args.out), scheduler=args.scheduler,
        workers=args.workers or None, resume=args.resume, force=args.force,
        time_limit_s=args.time_limit, on_progress=None if args.quiet else show,
    )  # fmt: skip
    failed = int((frame["status"] != "ok").sum()) if len(frame) else 0
    print(f"Sweep of {len(frame)} cases ({failed} failed) written to {args.out}/")
    print(f"Results: {Path(args.out) / 'results.csv'}; ranking: {Path(args.out) / 'sweep.html'}")
    print(f"{len(frame) - failed} of {len(frame)} cases solved, {_elapsed(args)}")
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
    "sweep": _cmd_sweep,
}


def _solver_stop(name: str) -> Callable[[], None] | None:
    """``request_stop`` or ``clear_stop`` of the routing interrupt API, if it is loaded.

    Looked up in ``sys.modules`` only: a signal handler must not import OR-Tools, and
    when routing was never imported no solve is running.
    """
    for module in ("optimizer.routing.interrupt", "optimizer.routing"):
        found = getattr(sys.modules.get(module), name, None)
        if callable(found):
            return cast(Callable[[], None], found)
    return None


def _stop_solvers() -> None:
    """Ask a running routing search to stop, when the routing module offers that."""
    request_stop = _solver_stop("request_stop")
    if request_stop is not None:
        request_stop()


class _Run:
    """The running command: when it started, and interrupts that came too late to stop it."""

    started: float | None = None
    late: list[int] = []  # noqa: RUF012 - reset by main for each command


def _output_written() -> bool:
    """Whether the running command has moved its output into place (it has succeeded)."""
    outputs = sys.modules.get("optimizer.outputs")
    return bool(_Run.started is not None and outputs and outputs.written_since(_Run.started))


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGINT and SIGTERM: stop the solvers and unwind like Ctrl-C, cleaning up.

    Once the output is in place the run has succeeded: the signal is only noted, and
    the command finishes normally (exit 0) saying so.
    """
    if _output_written():
        _Run.late.append(signum)
        return
    _stop_solvers()
    raise KeyboardInterrupt


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Turn SIGTERM (and SIGINT) into KeyboardInterrupt while a command runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        clear_stop = _solver_stop("clear_stop")  # the next run (in tests: main again) solves
        if clear_stop is not None:
            clear_stop()


def _late_note(command: str) -> str:
    """The line a run ends with when an interrupt came after its output was written."""
    what = "the plan" if command in ("demo", "plan", "sites", "routes") else "the output"
    return f"(an interrupt arrived after {what} was written; it is complete)"


def _progress_reporter(args: argparse.Namespace) -> progress.Reporter | None:
    """Progress lines on stderr for the commands that load a network, unless -q."""
    if args.quiet or args.command not in ("demo", "plan", "sites", "routes", "validate"):
        return None
    return progress.stream_reporter(start=args.started)


def _file_error_text(exc: OSError, out: object = None) -> str:
    """An operating-system error as the file it concerns (else the output folder being
    written), what happened and a fix."""
    target = exc.filename or (f"writing {out}" if out else None)
    where = f"{target}: " if target else ""
    what = exc.strerror or str(exc)
    fix = {
        errno.ENOSPC: "free disk space, or write the output to another disk (--out)",
        errno.EDQUOT: "free disk space, or write the output to another disk (--out)",
        errno.EACCES: "choose a file or folder you may read or write",
        errno.EPERM: "choose a file or folder you may read or write",
        errno.EROFS: "write the output to a writable disk (--out)",
        errno.ENOENT: "check the path",
    }.get(exc.errno or 0, "check the path and that the disk is writable")
    return f"{where}{what}. Fix: {fix}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # 'optimizer' alone: the help, as a usage error
        parser.print_help(sys.stderr)
        return 1
    args.started = time.perf_counter()
    _Run.started, _Run.late = args.started, []
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        with _signals_interrupt(), progress.reporting(_progress_reporter(args)):
            code = _COMMANDS[args.command](args)
        if _Run.late:
            print(_late_note(args.command))
        return code
    except OptimizerError as exc:
        label = {1: "Input error", 2: "Infeasible", 3: "Internal error"}.get(exc.exit_code, "Error")
        print(f"{label}: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # permissions, a full disk, a path that is a file
        print(f"File error: {_file_error_text(exc, getattr(args, 'out', None))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if _output_written():  # the output is complete: the run has succeeded
            print(_late_note(args.command))
            return 0
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
