"""Cross-record rules of a scenario: ids, references, coverage, sizes.

Each rule is a small function with one reason, yielding a :class:`Problem` per
offending record. :class:`~optimizer.scenario.schema.Scenario` runs them all as a
model validator, so a scenario built in Python, ``load_scenario`` and
``optimizer validate`` apply the same rules. The loader also runs them on the
records that did validate when others did not (:meth:`Parts.partial`), so that one
file reports every problem at once; references to a record that failed its own
validation are not reported again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from optimizer.errors import Problem
from optimizer.scenario.limits import MAX_POINTS, MAX_SAMPLE_ROWS, MAX_TRUCKS, matrix_gigabytes

if TYPE_CHECKING:
    from optimizer.scenario.schema import (
        DepotSpec,
        District,
        EconomicsSpec,
        FacilitySpec,
        GenerationSpec,
        PointRecord,
        Scenario,
        SolverSpec,
        StreamSpec,
        VehicleTypeSpec,
    )

_LISTS = ("streams", "depots", "facilities", "fleet")


@dataclass(frozen=True)
class Parts:
    """The records the rules look at, and which lists are incomplete.

    ``incomplete`` names lists where some record failed validation (rules needing the
    whole list are skipped for them); ``invalid_ids`` holds the ids of those records,
    which still count as existing for reference checks.
    """

    file: str
    streams: tuple[StreamSpec, ...] = ()
    depots: tuple[DepotSpec, ...] = ()
    facilities: tuple[FacilitySpec, ...] = ()
    fleet: tuple[VehicleTypeSpec, ...] = ()
    points: tuple[PointRecord, ...] = ()
    districts: tuple[District, ...] = ()
    generation: GenerationSpec | None = None
    solver: SolverSpec | None = None
    economics: EconomicsSpec | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    incomplete: frozenset[str] = frozenset()
    invalid_ids: Mapping[str, frozenset[str]] = field(default_factory=dict)
    removed: tuple[str, ...] = ()  # ids a variant's ``remove`` dropped

    @classmethod
    def of(cls, sc: Scenario, removed: Iterable[str] = ()) -> Parts:
        """The parts of a complete, validated scenario (``removed``: a variant's ``remove``)."""
        return cls(
            file=sc.source_file,
            removed=tuple(removed),
            streams=sc.streams,
            depots=sc.depots,
            facilities=sc.facilities,
            fleet=sc.fleet,
            points=sc.points,
            districts=sc.districts,
            generation=sc.generation,
            solver=sc.solver,
            economics=sc.economics,
            files=sc.files,
        )

    @classmethod
    def partial(
        cls,
        built: Mapping[str, Any],
        file: str,
        incomplete: Iterable[str],
        invalid_ids: Mapping[str, Iterable[str]],
        removed: Iterable[str] = (),
    ) -> Parts:
        """The parts the loader could validate, with the lists that lost records."""
        keys = ("streams", "depots", "facilities", "fleet", "points", "districts")
        return cls(
            file=file,
            removed=tuple(removed),
            generation=built.get("generation"),
            solver=built.get("solver"),
            economics=built.get("economics"),
            files=built.get("files", {}),
            incomplete=frozenset(incomplete),
            invalid_ids={k: frozenset(v) for k, v in invalid_ids.items()},
            **{k: tuple(built.get(k, ())) for k in keys},
        )

    def ids(self, key: str) -> set[str]:
        """Ids of a list, including records that failed their own validation."""
        return {r.id for r in getattr(self, key)} | set(self.invalid_ids.get(key, ()))

    @property
    def points_file(self) -> str:
        """The file the points came from (the scenario file when they are inline)."""
        return self.files.get("points", self.file)

    def complete(self, *keys: str) -> bool:
        """Whether every named list validated in full."""
        return not self.incomplete & set(keys)


Check = Callable[[Parts], Iterator[Problem]]


def _one_of(known: Iterable[str], empty: str) -> str:
    """``use one of [...]``, or ``empty`` (what to add) when there is nothing to choose."""
    names = sorted(known)
    return f"use one of {names}" if names else empty


def _unknown(
    p: Parts, file: str, kind: str, section: str, ident: str, known: Iterable[str], user: str
) -> tuple[str, str]:
    """What and fix for a reference ``user`` makes to a missing ``kind`` ``ident``.

    An id a variant's ``remove`` dropped is named as removed, not as unknown.
    """
    add = f'add a [[{section}]] entry with id = "{ident}"'
    if ident in p.removed:
        listed = "[" + ", ".join(f'"{x}"' for x in p.removed) + "]"
        by = "this variant's" if file == p.file else f"the variant's ({p.file})"
        names = sorted(known)
        other = (
            f"one of {names}"
            if names
            else f"another {kind} added as a [[{section}]] entry (none is left)"
        )
        return (
            f"{kind} '{ident}' is removed by {by} remove = {listed} but {user} still uses it",
            f"keep the {kind} (take '{ident}' out of remove), or make {user} use {other}",
        )
    return f"unknown {kind} '{ident}'", _one_of(known, f"{add} (there is no {kind} to choose from)")


def unique_ids(p: Parts) -> Iterator[Problem]:
    """Every stream, depot, facility and fleet entry has its own id."""
    for key in _LISTS:
        seen: set[str] = set()
        for record in getattr(p, key):
            if record.id in seen:
                yield Problem(
                    p.file,
                    f"{key} id '{record.id}'",
                    "duplicate id",
                    "give every record its own id",
                )
            seen.add(record.id)


def fleet_depots_exist(p: Parts) -> Iterator[Problem]:
    """A truck starts from a depot that exists."""
    depots = p.ids("depots")
    for vt in p.fleet:
        if vt.depot not in depots and p.complete("depots"):
            what, fix = _unknown(p, p.file, "depot", "depots", vt.depot, depots, f"fleet '{vt.id}'")
            yield Problem(p.file, f"fleet '{vt.id}'.depot", what, fix)


def fleet_streams_exist(p: Parts) -> Iterator[Problem]:
    """A truck's ``streams`` name streams that exist."""
    streams = p.ids("streams")
    for vt in p.fleet:
        for s in vt.streams or ():
            if s not in streams:
                what, fix = _unknown(p, p.file, "stream", "streams", s, streams, f"fleet '{vt.id}'")
                yield Problem(p.file, f"fleet '{vt.id}'.streams", what, fix)


def size_groups_one_type(p: Parts) -> Iterator[Problem]:
    """Size options of one site (a ``size_group``) are all of one facility type."""
    first: dict[str, tuple[str, str]] = {}
    for fac in p.facilities:
        if not fac.size_group:
            continue
        other = first.setdefault(fac.size_group, (fac.id, fac.type))
        if other[1] != fac.type:
            yield Problem(
                p.file,
                f"facilities '{fac.id}'.size_group",
                f"size group '{fac.size_group}' mixes {other[1]} ('{other[0]}') and {fac.type}",
                "size options of one site must be the same type",
            )


def accepted_streams_exist(p: Parts) -> Iterator[Problem]:
    """A facility's ``accepts`` names streams that exist."""
    streams = p.ids("streams")
    for fac in p.facilities:
        for s in fac.accepts:
            if s not in streams:
                what, fix = _unknown(
                    p, p.file, "stream", "streams", s, streams, f"facility '{fac.id}'"
                )
                yield Problem(p.file, f"facilities '{fac.id}'.accepts", what, fix)


def point_rows_unique(p: Parts) -> Iterator[Problem]:
    """One row per point and stream."""
    seen: set[tuple[str, str]] = set()
    for point in p.points:
        if (point.id, point.stream) in seen:
            yield Problem(
                p.points_file,
                f"point '{point.id}'",
                f"duplicate row for stream '{point.stream}'",
                "keep one row per point and stream",
            )
        seen.add((point.id, point.stream))


def point_streams_exist(p: Parts) -> Iterator[Problem]:
    """A point's stream exists."""
    streams = p.ids("streams")
    for point in p.points:
        if point.stream not in streams:
            what, fix = _unknown(
                p, p.points_file, "stream", "streams", point.stream, streams, f"point '{point.id}'"
            )
            yield Problem(p.points_file, f"point '{point.id}'", what, fix)


def point_amount_given(p: Parts) -> Iterator[Problem]:
    """A point says how much it generates: tonnes or containers."""
    for point in p.points:
        if point.tonnes_per_day is None and point.containers is None:
            yield Problem(
                p.points_file,
                f"point '{point.id}'",
                "neither tonnes_per_day nor containers is given",
                "give one of them",
            )


def share_streams_exist(p: Parts) -> Iterator[Problem]:
    """``[generation] stream_shares`` names streams that exist."""
    if p.generation is None:
        return
    streams = p.ids("streams")
    for s in p.generation.stream_shares:
        if s not in streams:
            what, fix = _unknown(
                p, p.file, "stream", "streams", s, streams, "[generation] stream_shares"
            )
            yield Problem(p.file, f"generation.stream_shares.{s}", what, fix)


def coverage_has_share(p: Parts) -> Iterator[Problem]:
    """A stream with a ``stream_coverage`` also has a share."""
    if p.generation is None:
        return
    for s in p.generation.stream_coverage:
        if s not in p.generation.stream_shares:
            yield Problem(
                p.file,
                f"generation.stream_coverage.{s}",
                f"'{s}' has no stream share",
                "give it a share in stream_shares or remove it",
            )


def district_norms_exist(p: Parts) -> Iterator[Problem]:
    """``district_norms`` names districts that exist."""
    if p.generation is None or not p.complete("districts"):
        return
    names = {d.name for d in p.districts}
    for name in p.generation.district_norms:
        if name not in names:
            yield Problem(
                p.file,
                f"generation.district_norms.{name}",
                f"unknown district '{name}'",
                _one_of(names, "remove the norm, or add a district of that name"),
            )


def source_ids_unique(p: Parts) -> Iterator[Problem]:
    """Every non-household source has its own id."""
    seen: set[str] = set()
    for src in p.generation.sources if p.generation else ():
        if src.id in seen:
            yield Problem(
                p.file,
                f"generation.sources '{src.id}'",
                "duplicate id",
                "give every source its own id",
            )
        seen.add(src.id)


def source_streams_exist(p: Parts) -> Iterator[Problem]:
    """A source's stream exists."""
    streams = p.ids("streams")
    for src in p.generation.sources if p.generation else ():
        if src.stream not in streams:
            what, fix = _unknown(
                p, p.file, "stream", "streams", src.stream, streams, f"source '{src.id}'"
            )
            yield Problem(p.file, f"generation.sources '{src.id}'", what, fix)


def source_amount_given(p: Parts) -> Iterator[Problem]:
    """A source says how much it generates."""
    for src in p.generation.sources if p.generation else ():
        has_norm = src.norm_m3_per_unit_year is not None or src.norm_kg_per_unit_day is not None
        if (
            src.tonnes_per_day is None
            and not (has_norm and src.quantity is not None)
            and src.containers is None
        ):
            yield Problem(
                p.file,
                f"generation.sources '{src.id}'",
                "no amount: neither tonnes_per_day, nor quantity with a unit norm, nor containers",
                "give one of them",
            )


def _generated_streams(p: Parts) -> set[str]:
    """Streams the generation norm or the sources produce."""
    if p.generation is None:
        return set()
    shares = {s for s, share in p.generation.stream_shares.items() if share > 0}
    return shares | {x.stream for x in p.generation.sources}


def _used_streams(p: Parts) -> set[str]:
    """Streams something produces: points, the generation norm, sources."""
    return {x.stream for x in p.points} | _generated_streams(p)


def dedicated_streams_have_trucks(p: Parts) -> Iterator[Problem]:
    """A stream needing dedicated vehicles has a fleet entry carrying only it."""
    if not p.complete("fleet"):
        return
    generated = _generated_streams(p)
    for stream in p.streams:
        if (
            stream.dedicated_vehicles
            and stream.id in generated
            and not any(vt.streams == (stream.id,) for vt in p.fleet)
        ):
            yield Problem(
                p.file,
                f"streams '{stream.id}'",
                "needs dedicated vehicles but no fleet entry carries only this stream",
                f'add a fleet entry with streams = ["{stream.id}"]',
            )


def streams_have_a_facility(p: Parts) -> Iterator[Problem]:
    """Every stream produced is accepted by a facility of an allowed type."""
    if not p.complete("streams", "facilities"):
        return
    for stream in p.streams:
        if stream.id in _used_streams(p) and not any(
            stream.id in f.accepts and f.type in stream.accepted_by for f in p.facilities
        ):
            yield Problem(
                p.file,
                f"streams '{stream.id}'",
                f"no facility accepts stream '{stream.id}' (types allowed: {', '.join(stream.accepted_by)})",
                "add a facility of an allowed type whose 'accepts' lists it",
            )


def streams_have_a_truck(p: Parts) -> Iterator[Problem]:
    """Every stream produced may be carried by some fleet entry."""
    if not p.complete("streams", "fleet"):
        return
    for stream in p.streams:
        if stream.id in _used_streams(p) and not any(
            vt.streams is None or stream.id in vt.streams for vt in p.fleet
        ):
            yield Problem(
                p.file,
                f"streams '{stream.id}'",
                f"no vehicle type may carry stream '{stream.id}'",
                "add it to a fleet entry's 'streams'",
            )


def something_to_collect(p: Parts) -> Iterator[Problem]:
    """There are points or districts."""
    if not p.points and not p.districts and p.complete("points", "districts"):
        yield Problem(
            p.file,
            "points / districts",
            "no collection points and no districts",
            "give a points table or districts with population",
        )


def districts_have_a_norm(p: Parts) -> Iterator[Problem]:
    """Districts without points need a ``[generation]`` per-capita norm."""
    if not p.districts or not p.complete("generation"):
        return
    gen = p.generation
    if gen is None and not p.points:
        yield Problem(
            p.file,
            "generation",
            "districts are given but no [generation] norm",
            "add a [generation] section",
        )
    elif (
        gen is not None
        and gen.norm_m3_per_person_year is None
        and gen.norm_kg_per_person_day is None
    ):
        yield Problem(
            p.file,
            "generation",
            "no per-capita norm",
            "set norm_m3_per_person_year or norm_kg_per_person_day",
        )


def generated_point_count(p: Parts) -> int:
    """An upper bound on the collection points: explicit, sources, and generated per district."""
    gen = p.generation
    count = len({x.id for x in p.points})
    if gen is not None:
        count += len(gen.sources)
        for d in p.districts:
            if d.population > 0:
                count += max(1, round(d.population / gen.people_per_point))
    return count


def point_count_bounded(p: Parts) -> Iterator[Problem]:
    """At most MAX_POINTS collection points: the travel matrix grows with their square."""
    n = generated_point_count(p)
    if n > MAX_POINTS:
        where = "generation.people_per_point" if p.districts and p.generation else "points"
        yield Problem(
            p.files.get("districts", p.points_file) if p.districts else p.points_file,
            where,
            f"{n:,} collection points (population / people_per_point, plus the points given); "
            f"at most {MAX_POINTS:,} are supported: their travel matrix would need "
            f"{matrix_gigabytes(n):,.0f} GB of memory",
            "check the population and people_per_point, or split the city into scenarios",
        )


def fleet_size_bounded(p: Parts) -> Iterator[Problem]:
    """At most MAX_TRUCKS trucks in all: each adds two nodes to every routing model."""
    total = sum(vt.count for vt in p.fleet)
    if total > MAX_TRUCKS:
        yield Problem(
            p.file,
            "fleet",
            f"{total:,} trucks in all; at most {MAX_TRUCKS:,} are supported (each truck adds a "
            "start and an end node to every routing model)",
            "check the counts; plan a larger city as several scenarios",
        )


def p_median_fits(p: Parts) -> Iterator[Problem]:
    """``[solver] p`` cannot exceed the number of facilities."""
    wanted = p.solver.p if p.solver is not None else None
    if wanted is not None and p.complete("facilities") and wanted > len(p.facilities):
        yield Problem(
            p.file,
            "solver.p",
            f"p = {wanted} but there are only {len(p.facilities)} facilities",
            "lower p or add candidate facilities",
        )


def samples_bounded(p: Parts) -> Iterator[Problem]:
    """Demand samples × point-stream rows stay within MAX_SAMPLE_ROWS (about 1 GB)."""
    samples = p.economics.robustness_samples if p.economics is not None else 50
    rows = generated_point_count(p) * max(1, len(p.streams))
    if samples * rows > MAX_SAMPLE_ROWS:
        yield Problem(
            p.file,
            "economics.robustness_samples",
            f"{samples:,} demand samples of up to {rows:,} point-stream rows would be "
            f"{samples * rows:,} rows; at most {MAX_SAMPLE_ROWS:,} fit in memory (about 1 GB)",
            f"use at most {max(1, MAX_SAMPLE_ROWS // max(rows, 1)):,} samples",
        )


CHECKS: tuple[Check, ...] = (
    unique_ids,
    fleet_depots_exist,
    fleet_streams_exist,
    size_groups_one_type,
    accepted_streams_exist,
    point_rows_unique,
    point_streams_exist,
    point_amount_given,
    share_streams_exist,
    coverage_has_share,
    district_norms_exist,
    source_ids_unique,
    source_streams_exist,
    source_amount_given,
    dedicated_streams_have_trucks,
    streams_have_a_facility,
    streams_have_a_truck,
    something_to_collect,
    districts_have_a_norm,
    point_count_bounded,
    fleet_size_bounded,
    samples_bounded,
    p_median_fits,
)


def run_checks(parts: Parts) -> list[Problem]:
    """Every problem every rule finds, in rule order."""
    return [problem for check in CHECKS for problem in check(parts)]
