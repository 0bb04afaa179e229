"""Writing outputs safely: what ``--force`` may replace, and moving files into place at once.

A plan folder is written into a hidden temporary folder beside ``--out`` and then
renamed into place with signals held, so it appears complete or not at all; an
existing folder is replaced only when asked, and only when it is a plan folder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from optimizer.errors import InputError
from optimizer.stages.assemble import SCHEMA_VERSION

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from optimizer.plan_types import Plan
    from optimizer.scenario import Scenario

__all__ = [
    "COMPARE_MARKER",
    "PLAN_ENTRIES",
    "check_output_file",
    "check_output_folder",
    "commit",
    "csv_header_is",
    "discard",
    "has_marker",
    "is_graphml",
    "make_temp_folder",
    "protected_reason",
    "removal_refusal",
    "replace_refusal",
    "scenario_inputs",
    "write_file",
    "write_plan_folder",
    "written_since",
]

log = logging.getLogger("optimizer")

# ---------------------------------------------------------------------------------
# What --force may replace

# Every name ``optimizer.report.write_outputs`` puts at the top of a plan folder.
PLAN_ENTRIES = frozenset(
    {
        "plan.json",
        "routes.csv",
        "sites.csv",
        "calendar.csv",
        "routes.geojson",
        "sites.geojson",
        "map.html",
        "report.html",
        "sheets",
    }
)


def scenario_inputs(
    scenario: Scenario,
    network_override: Path | None = None,
    sites_from: Path | None = None,
) -> list[Path]:
    """Every file a run reads: the scenario, its tables, its network, an earlier plan."""
    paths = [Path(scenario.source_file), *(Path(p) for p in scenario.files.values())]
    if scenario.network.file is not None:
        paths.append(scenario.resolve(scenario.network.file))
    paths += [p for p in (network_override, sites_from) if p is not None]
    return paths


def _is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both resolved)."""
    return path == folder or folder in path.parents


def _refusal(out: Path, what: str, fix: str) -> InputError:
    """The input error that refuses to write ``out``, saying why and what to do instead."""
    return InputError.one(str(out), "", what, fix)


def protected_reason(folder: Path, inputs: Iterable[Path] = ()) -> str | None:
    """Why ``folder`` must never be replaced, or None: the root, home, the working
    folder (or a folder holding it), or a folder holding one of the run's inputs."""
    real = folder.resolve()
    if real.parent == real:
        return "is the filesystem root"
    if real == Path.home().resolve():
        return "is your home folder"
    if _is_within(Path.cwd().resolve(), real):
        return "is the current folder or holds it"
    for path in inputs:
        if _is_within(path.resolve(), real):
            return f"holds an input of this run ({path})"
    return None


def _is_our_plan(plan_json: Path) -> bool:
    """Whether ``plan_json`` is a plan this version of the optimizer writes."""
    try:
        data = json.loads(plan_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("schema_version") == SCHEMA_VERSION


def replace_refusal(folder: Path) -> str | None:
    """Why the existing ``folder`` is not a plan folder that --force may replace, or None.

    An empty folder may be replaced; otherwise it must hold our ``plan.json`` and
    nothing the optimizer does not write, so that no file of the user's is deleted.
    """
    names = {p.name for p in folder.iterdir()}
    if not names:
        return None
    if "plan.json" not in names or not _is_our_plan(folder / "plan.json"):
        return "is not a plan folder (no plan.json written by the optimizer)"
    foreign = sorted(names - PLAN_ENTRIES)
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        return f"holds files the optimizer did not write ({shown})"
    return None


#: Characters the hidden names beside an output add to its name: ``.NAME.tmp-XXXXXXXX``.
NAME_EXTRA = 14


def _name_max(path: Path) -> int:
    """The longest file name the file system holding ``path`` accepts (255 on most)."""
    for folder in (path, *path.parents):
        try:
            if folder.is_dir():
                return int(os.pathconf(folder, "PC_NAME_MAX"))
        except (OSError, ValueError):
            break
    return 255


def _check_path(out: Path, *, kind: str) -> None:
    """Refuse an ``--out`` that can never be written, whatever is in it: a name too long
    for the file system, or a path through an existing file. ``kind``: folder or file."""
    longest = _name_max(out.parent)
    for i, part in enumerate(out.parts):
        allowed = longest - (NAME_EXTRA if i == len(out.parts) - 1 else 0)
        size = len(os.fsencode(part))
        if size > allowed:
            raise _refusal(
                out,
                f"the name '{part[:24]}…' is {size} characters long; "
                f"the longest name allowed here is {allowed}",
                f"choose a shorter {kind} name for --out",
            )
    for parent in reversed(out.parents):
        if parent.is_dir():
            continue
        if parent.exists() or parent.is_symlink():
            raise _refusal(
                out,
                f"{parent} is a file, so it can't hold the {kind} {out.relative_to(parent)}",
                f"choose an --out {kind} that is not inside a file",
            )
        break


def removal_refusal(folder: Path) -> str | None:
    """Why the old ``folder`` could not be deleted once the new one is in place, or None.

    Deleting needs write access to its parent and to every folder inside it (a file's
    own mode does not matter); checked before solving, so that --force does not leave
    the old plan behind as a hidden folder.
    """
    ok = os.W_OK | os.X_OK
    if not os.access(folder.parent, ok):
        return f"its parent folder {folder.parent} is not writable"
    for root, dirs, _files in os.walk(folder):
        for sub in (root, *(os.path.join(root, name) for name in dirs)):
            if not os.access(sub, ok | os.R_OK):
                return f"{sub} is read-only, so the files in it cannot be deleted"
    return None


def check_output_folder(out: Path, *, force: bool, inputs: Iterable[Path] = ()) -> None:
    """Refuse, before any work, to write where it would destroy something.

    An existing folder is replaced only with ``force``, and only when it is a plan
    folder written earlier that holds none of the run's ``inputs`` and that can be
    deleted. A symbolic link is never replaced (nor followed).
    """
    _check_path(out, kind="folder")
    if out.is_symlink():
        raise _refusal(
            out,
            f"is a symbolic link (to {os.readlink(out)}); the optimizer does not replace links",
            f"give the folder itself (--out {out.resolve()}) or a new folder name",
        )
    if not out.exists():
        return
    if not out.is_dir():
        raise _refusal(
            out, "is a file, not a folder", "choose a folder name for --out (it is created)"
        )
    if not force:
        raise _refusal(
            out,
            "output folder already exists",
            "choose another --out or pass --force to replace it",
        )
    why = protected_reason(out, inputs) or replace_refusal(out)
    if why:
        raise _refusal(
            out,
            f"--force will not replace this folder: it {why}",
            "choose a new folder for --out (it is created) or a plan folder written earlier",
        )
    why = removal_refusal(out)
    if why:
        raise _refusal(
            out,
            f"--force cannot replace this folder: {why}",
            f"make it writable (chmod -R u+w {out}) or choose another --out",
        )


# ---------------------------------------------------------------------------------
# Single output files: what --force may replace

#: The mark in the head of every comparison page ``optimizer compare`` writes.
COMPARE_MARKER = '<meta name="generator" content="optimizer compare">'


def _head(path: Path, size: int = 4096) -> str:
    """The first ``size`` bytes of a file as text ("" when unreadable)."""
    try:
        with path.open("rb") as handle:
            return handle.read(size).decode("utf-8-sig", errors="replace")
    except OSError:
        return ""


def has_marker(marker: str) -> Callable[[Path], bool]:
    """A test: the file's first 4 KB hold ``marker`` (our HTML pages carry one)."""
    return lambda path: marker in _head(path)


def csv_header_is(*headers: Iterable[str]) -> Callable[[Path], bool]:
    """A test: the file's first line is a CSV header starting with one of ``headers``."""
    wanted = [",".join(h) for h in headers]

    def ours(path: Path) -> bool:
        first = _head(path).splitlines()[:1]
        return bool(first) and any(first[0] == w or first[0].startswith(w + ",") for w in wanted)

    return ours


def is_graphml(path: Path) -> bool:
    """A test: a ``.graphml`` file holding a GraphML document."""
    return path.suffix.lower() == ".graphml" and "<graphml" in _head(path)


def check_output_file(
    out: Path,
    inputs: Iterable[Path] = (),
    *,
    force: bool = False,
    ours: Callable[[Path], bool] | None = None,
    what: str = "output file",
    input_folders: Iterable[Path] = (),
) -> None:
    """Refuse to write a single output file where it would destroy something.

    Never over a folder, an input of the run or anything inside one of
    ``input_folders``; an existing file only with ``force``, and then only when
    ``ours`` says it is an output of this kind written earlier (``what`` names it).
    """
    _check_path(out, kind="file")
    if out.is_dir():
        raise _refusal(out, "is a folder", "give a file name for --out, not a folder")
    real = out.resolve()
    for path in inputs:
        if path.resolve() == real:
            raise _refusal(out, f"is an input of this run ({path})", "write to another file")
    for folder in input_folders:
        if _is_within(real, folder.resolve()):
            raise _refusal(
                out,
                f"is inside {folder}, an input of this run",
                "write the file outside the folders being read",
            )
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise _refusal(
            out,
            "file already exists",
            f"choose another --out or pass --force to replace it (only a {what} "
            "written by the optimizer is replaced)",
        )
    if ours is not None and not ours(out):
        raise _refusal(
            out,
            f"--force will not replace this file: it is not a {what} written by the optimizer",
            "choose a new file name for --out",
        )


# ---------------------------------------------------------------------------------
# Writing into a temporary folder and moving it into place at once


def _umask() -> int:
    """The process umask (read by setting it and putting it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _make_readable(root: Path) -> None:
    """Give the folder tree the modes a plain ``mkdir``/``open`` would (0755/0644 at
    umask 022): ``mkdtemp`` creates 0700, and a plan folder is meant to be shared."""
    mask = _umask()
    root.chmod(0o777 & ~mask)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o666 & ~mask)


@contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM during a step that must not be cut in half.

    Yields the list of signals that arrived meanwhile; the caller decides what they
    mean once the step is done. Outside the main thread nothing is held (Python
    delivers signals to the main thread only).
    """
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def hold(signum: int, _frame: FrameType | None) -> None:
        held.append(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if handler is not None:  # None: installed outside Python, leave it alone
            previous[sig] = handler
            signal.signal(sig, hold)
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def make_temp_folder(out: Path) -> Path:
    """Create the hidden folder the outputs are written into, beside ``out``.

    Done before solving, so that a folder one cannot write to fails at once.
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with _signals_held() as held:
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise _refusal(
            out, f"cannot write here ({exc.strerror})", "choose a folder you can write to"
        ) from exc
    if held:
        discard(tmp)
        raise KeyboardInterrupt
    return tmp


def discard(tmp: Path) -> None:
    """Remove a temporary folder; an interrupt meanwhile waits until it is gone."""
    with _signals_held() as held:
        shutil.rmtree(tmp, ignore_errors=True)
    if held:
        raise KeyboardInterrupt


def _redeliver(held: list[int]) -> None:
    """Send again the signals held during a step that succeeded, to the handlers now in
    place: the command's notes that the output is complete; Python's default raises
    KeyboardInterrupt, as if the signal had come just after the step."""
    for sig in dict.fromkeys(held):
        signal.raise_signal(sig)


def commit(tmp: Path, out: Path, *, force: bool, inputs: Iterable[Path] = ()) -> None:
    """Move the written folder ``tmp`` to ``out``, replacing the old one at once.

    The folder is checked again (it may have changed during a long solve). Signals
    are held during the swap, so that ``out`` ends up either the old folder intact
    or the new one complete; one arriving meanwhile is obeyed at once if the swap
    failed, and sent again once the new folder is in place otherwise.
    """
    check_output_folder(out, force=force, inputs=inputs)
    _make_readable(tmp)
    with _signals_held() as held:
        try:
            _swap(tmp, out)
        except OSError:
            if held:  # the user asked to stop anyway: say "interrupted", not the file error
                raise KeyboardInterrupt from None
            raise
        _written.append((time.perf_counter(), out))
    _redeliver(held)


# (time.perf_counter(), path) of every output moved into place by this process
_written: list[tuple[float, Path]] = []


def written_since(start: float) -> list[Path]:
    """Outputs moved into place since ``start`` (a ``time.perf_counter()`` value).

    An interrupt can arrive after the plan folder is complete; the command uses this
    to say so instead of "nothing was written".
    """
    return [path for when, path in _written if when >= start]


def _swap(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an old ``out`` is set aside, then put back or deleted."""
    backup = None
    if out.exists() or out.is_symlink():
        backup = out.parent / f".{out.name}.old-{tmp.name[-8:]}"
        out.rename(backup)
    try:
        tmp.rename(out)
    except BaseException:
        if backup is not None:
            backup.rename(out)
        raise
    if backup is not None:
        _remove_old(backup, out)


def _remove_old(backup: Path, out: Path) -> None:
    """Delete the old folder set aside by the swap; say so when it cannot be deleted."""
    errors: list[str] = []

    def note(_func: object, path: str, info: Any) -> None:
        errors.append(f"{path}: {getattr(info[1], 'strerror', None) or info[1]}")

    try:
        if backup.is_symlink() or not backup.is_dir():
            backup.unlink()
        else:
            shutil.rmtree(backup, onerror=note)
    except OSError as exc:
        errors.append(str(exc))
    if errors or backup.exists() or backup.is_symlink():
        log.warning(
            "%s was replaced, but its old contents could not be deleted and are left in "
            "%s (%s); delete that folder by hand",
            out,
            backup,
            errors[0] if errors else "still there",
        )


def write_plan_folder(plan: Plan, out: Path, *, force: bool, inputs: Iterable[Path] = ()) -> Path:
    """Write every output into a temporary folder, then move it into place at once."""
    from optimizer.report import write_outputs

    check_output_folder(out, force=force, inputs=inputs)
    tmp = make_temp_folder(out)
    try:
        write_outputs(plan, tmp)
        commit(tmp, out, force=force, inputs=inputs)
    finally:
        if tmp.exists():
            discard(tmp)
    return out


def write_file(out: Path, write: Callable[[Path], object]) -> None:
    """Have ``write`` fill a hidden file beside ``out``, then rename it into place at once.

    The file gets the mode a plain ``open`` would give (0644 at umask 022); signals
    are held while it is created, moved into place or removed, so that ``out`` is
    the old file or the new one complete and no hidden file stays behind.
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with _signals_held() as held:
            handle, name = tempfile.mkstemp(prefix=f".{out.name}.tmp-", dir=out.parent)
            os.close(handle)
    except OSError as exc:
        raise _refusal(
            out, f"cannot write here ({exc.strerror})", "choose a folder you can write to"
        ) from exc
    tmp = Path(name)
    try:
        if held:
            raise KeyboardInterrupt
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        with _signals_held() as held:
            os.replace(tmp, out)
            _written.append((time.perf_counter(), out))
        _redeliver(held)
    finally:
        if tmp.exists():
            with _signals_held():
                tmp.unlink(missing_ok=True)
