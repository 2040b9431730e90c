"""Fixed-seed regression baseline.

A change of these numbers must be explained in the commit that changes them.
Regenerate with ``uv run python tests/test_regression.py --update`` after a
deliberate model change, and say in the commit message why the numbers moved.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.batch import run_replications  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

BASELINE_FILE = Path(__file__).parent / "regression_baseline.json"
SEED, REPS, MONTHS = 2022, 3, 36
# Same machine class and library versions reproduce these to the bit; the tolerance
# only absorbs last-digit differences of vectorised maths libraries across CPUs.
RTOL = 1e-9


def summary() -> dict:
    spec, m = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    results = run_replications(spec, m, SEED, REPS, MONTHS)
    out: dict = {"seed": SEED, "replications": REPS, "months": MONTHS, "runs": []}
    for r in results:
        out["runs"].append({
            "seed": r.seed,
            "territory_share_final": dict(zip(r.factions, r.territory_share[-1].tolist(), strict=True)),
            "strength_final": dict(zip(r.factions, r.strength[-1].tolist(), strict=True)),
            "cohesion_final": float(r.cohesion[-1]),
            "threat_final": dict(zip(r.donors, r.threat[-1].tolist(), strict=True)),
            "events": [f"{s}: {t}" for s, t in r.events],
        })
    return out


def _close(a, b, path="") -> list[str]:
    if isinstance(a, dict):
        diffs = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                diffs.append(f"{path}.{k}: missing")
            else:
                diffs += _close(a[k], b[k], f"{path}.{k}")
        return diffs
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _close(x, y, f"{path}[{i}]")]
    if isinstance(a, float):
        return [] if np.isclose(a, b, rtol=RTOL, atol=1e-12) else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_baseline_matches_recorded_numbers():
    expected = json.loads(BASELINE_FILE.read_text())
    diffs = _close(expected, summary())
    assert not diffs, "regression baseline changed (explain in the commit):\n" + "\n".join(diffs[:20])


if __name__ == "__main__":
    if "--update" in sys.argv:
        BASELINE_FILE.write_text(json.dumps(summary(), indent=1, sort_keys=True) + "\n")
        print(f"wrote {BASELINE_FILE}")
