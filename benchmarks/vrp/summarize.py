"""Print the mean gap per set and solver from the CSVs in this folder (markdown)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main() -> None:
    """Entry point."""
    folder = Path(__file__).parent
    frames = []
    for path in sorted(folder.glob("*_*s.csv")):
        if path.stat().st_size == 0:
            continue
        frame = pd.read_csv(path)
        parts = path.stem.split("_")  # set_solver[_wN]_LIMITs
        frame["set"] = parts[0]
        frame["solver"] = "_".join(parts[1:-1])
        frames.append(frame)
    if not frames:
        sys.exit("no result CSVs")
    data = pd.concat(frames)
    rows = []
    for (name, solver), g in data.groupby(["set", "solver"]):
        rows.append(
            {
                "set": name,
                "solver": solver,
                "time_limit_s": g["time_limit_s"].iloc[0],
                "instances": len(g),
                "feasible": int(g["feasible"].sum()),
                "mean_gap_pct": round(g["gap_pct"].mean(), 2)
                if g["gap_pct"].notna().any()
                else None,
                "mean_cost": round(g["cost"].mean(), 1),
                "mean_vehicles": round(g["vehicles"].mean(), 1),
                "mean_runtime_s": round(g["runtime_s"].mean(), 1),
            }
        )
    table = pd.DataFrame(rows)
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for record in table.itertuples(index=False):
        print("| " + " | ".join("" if pd.isna(x) else str(x) for x in record) + " |")


if __name__ == "__main__":
    main()
