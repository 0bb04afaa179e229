"""Cross-record checks of a scenario: ids, references, streams nobody accepts or carries."""

from __future__ import annotations

from typing import Any

from optimizer.errors import Problem


def check_references(
    sc: dict[str, Any], file: str, problems: list[Problem], incomplete: set[str]
) -> None:
    """Cross-record checks: unique ids, known streams and depots, accepting facilities.

    Lists in ``incomplete`` had records that failed validation; checks that need
    the whole list are skipped for them so that one mistake is reported once.
    """
    streams = {s.id for s in sc.get("streams", ())}
    for key in ("depots", "facilities", "fleet", "streams"):
        seen: set[str] = set()
        for record in sc.get(key, ()):
            if record.id in seen:
                problems.append(
                    Problem(
                        file,
                        f"{key} id '{record.id}'",
                        "duplicate id",
                        "give every record its own id",
                    )
                )
            seen.add(record.id)
    depot_ids = {d.id for d in sc.get("depots", ())}
    for vt in sc.get("fleet", ()):
        if vt.depot not in depot_ids and "depots" not in incomplete:
            problems.append(
                Problem(
                    file,
                    f"fleet '{vt.id}'.depot",
                    f"unknown depot '{vt.depot}'",
                    f"use one of {sorted(depot_ids)}",
                )
            )
        for s in vt.streams or ():
            if s not in streams:
                problems.append(
                    Problem(
                        file,
                        f"fleet '{vt.id}'.streams",
                        f"unknown stream '{s}'",
                        f"use one of {sorted(streams)}",
                    )
                )
    group_type: dict[str, tuple[str, str]] = {}
    for fac in sc.get("facilities", ()):
        if fac.size_group:
            first = group_type.setdefault(fac.size_group, (fac.id, fac.type))
            if first[1] != fac.type:
                problems.append(
                    Problem(
                        file,
                        f"facilities '{fac.id}'.size_group",
                        f"size group '{fac.size_group}' mixes {first[1]} ('{first[0]}') and {fac.type}",
                        "size options of one site must be the same type",
                    )
                )
    for fac in sc.get("facilities", ()):
        for s in fac.accepts:
            if s not in streams:
                problems.append(
                    Problem(
                        file,
                        f"facilities '{fac.id}'.accepts",
                        f"unknown stream '{s}'",
                        f"use one of {sorted(streams)}",
                    )
                )
    points_file = sc.get("files", {}).get("points", file)
    seen_points: set[tuple[str, str]] = set()
    used_streams: set[str] = set()
    for point in sc.get("points", ()):
        point_key = (point.id, point.stream)
        if point_key in seen_points:
            problems.append(
                Problem(
                    points_file,
                    f"point '{point.id}'",
                    f"duplicate row for stream '{point.stream}'",
                    "keep one row per point and stream",
                )
            )
        seen_points.add(point_key)
        if point.stream not in streams:
            problems.append(
                Problem(
                    points_file,
                    f"point '{point.id}'",
                    f"unknown stream '{point.stream}'",
                    f"use one of {sorted(streams)}",
                )
            )
        used_streams.add(point.stream)
        if point.tonnes_per_day is None and point.containers is None:
            problems.append(
                Problem(
                    points_file,
                    f"point '{point.id}'",
                    "neither tonnes_per_day nor containers is given",
                    "give one of them",
                )
            )
    generation = sc.get("generation")
    if generation is not None:
        used_streams |= {s for s, share in generation.stream_shares.items() if share > 0}
        for s in generation.stream_shares:
            if s not in streams:
                problems.append(
                    Problem(
                        file,
                        f"generation.stream_shares.{s}",
                        f"unknown stream '{s}'",
                        f"use one of {sorted(streams)}",
                    )
                )
        for s in generation.stream_coverage:
            if s not in generation.stream_shares:
                problems.append(
                    Problem(
                        file,
                        f"generation.stream_coverage.{s}",
                        f"'{s}' has no stream share",
                        "give it a share in stream_shares or remove it",
                    )
                )
        district_names = {d.name for d in sc.get("districts", ())}
        for name in generation.district_norms:
            if name not in district_names and "districts" not in incomplete:
                problems.append(
                    Problem(
                        file,
                        f"generation.district_norms.{name}",
                        f"unknown district '{name}'",
                        f"use one of {sorted(district_names)}",
                    )
                )
        seen_sources: set[str] = set()
        for src in generation.sources:
            where = f"generation.sources '{src.id}'"
            if src.id in seen_sources:
                problems.append(
                    Problem(file, where, "duplicate id", "give every source its own id")
                )
            seen_sources.add(src.id)
            if src.stream not in streams:
                problems.append(
                    Problem(
                        file,
                        where,
                        f"unknown stream '{src.stream}'",
                        f"use one of {sorted(streams)}",
                    )
                )
            used_streams.add(src.stream)
            has_norm = src.norm_m3_per_unit_year is not None or src.norm_kg_per_unit_day is not None
            has_rate = has_norm and src.quantity is not None
            if src.tonnes_per_day is None and not has_rate and src.containers is None:
                problems.append(
                    Problem(
                        file,
                        where,
                        "no amount: neither tonnes_per_day, nor quantity with a unit norm, nor containers",
                        "give one of them",
                    )
                )
        generated = {s for s, share in generation.stream_shares.items() if share > 0} | {
            x.stream for x in generation.sources
        }
        fleet = sc.get("fleet", ())
        for stream in sc.get("streams", ()):
            dedicated = stream.id in generated and stream.dedicated_vehicles
            if (
                dedicated
                and "fleet" not in incomplete
                and not any(vt.streams == (stream.id,) for vt in fleet)
            ):
                problems.append(
                    Problem(
                        file,
                        f"streams '{stream.id}'",
                        "needs dedicated vehicles but no fleet entry carries only this stream",
                        f'add a fleet entry with streams = ["{stream.id}"]',
                    )
                )
    coverage_known = not incomplete & {"streams", "facilities", "fleet"}
    for s in sorted(used_streams & streams) if coverage_known else []:
        stream = next(x for x in sc["streams"] if x.id == s)
        if not any(
            s in f.accepts and f.type in stream.accepted_by for f in sc.get("facilities", ())
        ):
            problems.append(
                Problem(
                    file,
                    f"streams '{s}'",
                    f"no facility accepts stream '{s}' (types allowed: {', '.join(stream.accepted_by)})",
                    "add a facility of an allowed type whose 'accepts' lists it",
                )
            )
        if not any(vt.streams is None or s in vt.streams for vt in sc.get("fleet", ())):
            problems.append(
                Problem(
                    file,
                    f"streams '{s}'",
                    f"no vehicle type may carry stream '{s}'",
                    "add it to a fleet entry's 'streams'",
                )
            )
    if (
        not sc.get("points")
        and not sc.get("districts")
        and not incomplete & {"points", "districts"}
    ):
        problems.append(
            Problem(
                file,
                "points / districts",
                "no collection points and no districts",
                "give a points table or districts with population",
            )
        )
    if sc.get("districts") and not sc.get("points") and generation is None:
        problems.append(
            Problem(
                file,
                "generation",
                "districts are given but no [generation] norm",
                "add a [generation] section",
            )
        )
    if (
        generation is not None
        and sc.get("districts")
        and generation.norm_m3_per_person_year is None
        and generation.norm_kg_per_person_day is None
    ):
        problems.append(
            Problem(
                file,
                "generation",
                "no per-capita norm",
                "set norm_m3_per_person_year or norm_kg_per_person_day",
            )
        )
