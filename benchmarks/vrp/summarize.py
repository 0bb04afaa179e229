"""Print the benchmark tables of README.md from the CSVs in this folder (markdown).

Means are taken over the instances every solver of a set finished and found feasible,
so a partial or failed run never flatters a solver; the counts say how many that is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

#: CVRPLIB X is also reported split at the issue's "up to about 400 customers".
X_SPLIT = 401


def load(folder: Path) -> pd.DataFrame:
    """Every ``{set}_{solver}[_wN]_{limit}s.csv`` of the folder as one frame."""
    frames = []
    for path in sorted(folder.glob("*_*s.csv")):
        if path.stat().st_size == 0 or path.name.startswith("ablation"):
            continue
        frame = pd.read_csv(path)
        parts = path.stem.split("_")  # set_solver[_wN]_LIMITs
        frame["set"] = parts[0]
        frame["solver"] = "_".join(parts[1:-1])
        frames.append(frame)
    if not frames:
        sys.exit("no result CSVs")
    data = pd.concat(frames, ignore_index=True)
    data["customers"] = [
        int(m.group(1)) - 1 if (m := re.search(r"-n(\d+)-", str(name))) else n
        for name, n in zip(data["instance"], data["n"], strict=True)
    ]
    return data


def table(rows: list[dict[str, object]]) -> str:
    """A markdown table from dict rows."""
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def summary(data: pd.DataFrame) -> list[dict[str, object]]:
    """Mean gap per set and solver over the instances all solvers solved feasibly."""
    groups: list[tuple[str, pd.DataFrame]] = []
    for name, g in data.groupby("set", sort=False):
        groups.append((str(name), g))
        if name == "x":
            groups.append((f"x (≤ {X_SPLIT - 1} customers)", g[g["customers"] < X_SPLIT]))
            groups.append((f"x (> {X_SPLIT - 1} customers)", g[g["customers"] >= X_SPLIT]))
    rows: list[dict[str, object]] = []
    for name, g in groups:
        if g.empty or g["gap_pct"].notna().sum() == 0:  # no best-knowns (e.g. Kim)
            continue
        solvers = sorted(g["solver"].unique())
        ok = g[g["feasible"].astype(bool)].pivot_table(
            index="instance", columns="solver", values="gap_pct", aggfunc="first"
        )
        # Solvers run on only part of the set (plain OR-Tools on X above 400 customers
        # is not) are compared on their part; the others on what all of them solved.
        runs = g.groupby("solver")["instance"].nunique()
        full = [s for s in solvers if runs[s] == runs.max()]
        common_full = ok[full].dropna()
        for solver in solvers:
            mine = g[g["solver"] == solver]
            subset = full if solver in full else [*full, solver]
            common = ok[subset].dropna() if solver not in full else common_full
            if "ortools" in ok and solver != "ortools":
                pair = ok[[*subset, "ortools"]].dropna() if "ortools" not in subset else common
                plain = pair["ortools"].mean() if len(pair) else None
                mine_vs_plain = pair[solver].mean() if len(pair) else None
            else:
                plain = mine_vs_plain = None
            mean = common[solver].mean() if len(common) else None
            rows.append(
                {
                    "set": name,
                    "solver": solver,
                    "time limit s": mine["time_limit_s"].iloc[0],
                    "instances": len(mine),
                    "feasible": int(mine["feasible"].astype(bool).sum()),
                    "compared": len(common),
                    "mean gap %": "" if mean is None else f"{mean:.2f}",
                    "× closer than plain OR-Tools": ""
                    # a ratio to a mean gap near zero says nothing: left blank below 0.1 %
                    if mine_vs_plain is None or plain is None or mine_vs_plain < 0.1
                    else f"{plain / mine_vs_plain:.1f}",
                }
            )
    return rows


def per_instance(data: pd.DataFrame, name: str) -> str:
    """Gap per instance and solver for one set."""
    g = data[data["set"] == name]
    wide = g.pivot_table(index="instance", columns="solver", values="gap_pct", aggfunc="first")
    order = g.drop_duplicates("instance").set_index("instance")["customers"]
    wide = wide.loc[order.sort_values(kind="stable").index.intersection(wide.index)]
    rows = [
        {"instance": inst, **{s: "" if pd.isna(v) else f"{v:.2f}" for s, v in r.items()}}
        for inst, r in wide.iterrows()
    ]
    return table(rows) if rows else ""


def main() -> None:
    """Entry point: ``summarize.py [SET ...]`` adds per-instance tables for those sets."""
    data = load(Path(__file__).parent)
    print(table(summary(data)))
    for name in sys.argv[1:]:
        print(f"\n### {name}\n")
        print(per_instance(data, name))


if __name__ == "__main__":
    main()
