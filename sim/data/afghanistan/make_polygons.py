"""Regenerate ``polygons.geojson`` (the province outlines) from the geoBoundaries ADM1 file.

Usage::

    uv run python sim/data/afghanistan/make_polygons.py SOURCE.geojson [OUTPUT.geojson]

``SOURCE`` is ``geoBoundaries-AFG-ADM1_simplified.geojson`` (geoBoundaries, Runfola et al.
2020; see ``SOURCES.md``). The outlines are simplified as one coverage (shared borders stay
shared, so no gaps or overlaps open between neighbours), rounded to :data:`DIGITS` decimals
and renamed to the spellings of ``provinces.csv``. Needs shapely (a development dependency).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.polygon import orient

HERE = Path(__file__).resolve().parent
TOLERANCE = 0.02  # degrees (about 2 km): coverage simplification
DIGITS = 3  # decimals of a degree kept (about 100 m)
# geoBoundaries shapeName -> provinces.csv name, every province written out (two spellings differ)
NAMES = {
    "Badakhshan": "Badakhshan", "Badghis": "Badghis", "Baghlan": "Baghlan", "Balkh": "Balkh",
    "Bamyan": "Bamyan", "Daykundi": "Daykundi", "Farah": "Farah", "Faryab": "Faryab",
    "Ghanzi": "Ghazni", "Ghor": "Ghor", "Helmand": "Helmand", "Herat": "Herat", "Jowzjan": "Jowzjan",
    "Kabul": "Kabul", "Kandahar": "Kandahar", "Kapisa": "Kapisa", "Khost": "Khost", "Kunar": "Kunar",
    "Kunduz": "Kunduz", "Laghman": "Laghman", "Logar": "Logar", "Nangarhar": "Nangarhar",
    "Nimruz": "Nimroz", "Nuristan": "Nuristan", "Paktia": "Paktia", "Paktika": "Paktika",
    "Panjshir": "Panjshir", "Parwan": "Parwan", "Samangan": "Samangan", "Sar-e Pol": "Sar-e Pol",
    "Takhar": "Takhar", "Uruzgan": "Uruzgan", "Wardak": "Wardak", "Zabul": "Zabul",
}


def _rounded(geom: dict) -> dict:
    """A GeoJSON geometry with every coordinate rounded to :data:`DIGITS` decimals."""

    def walk(node):
        if isinstance(node[0], float | int):
            return [round(float(x), DIGITS) for x in node]
        return [walk(n) for n in node]

    return {"type": geom["type"], "coordinates": walk(geom["coordinates"])}


def build(source: Path) -> dict:
    """The simplified, renamed feature collection, sorted like ``provinces.csv``.

    Raises:
        SystemExit: when a source name is not in :data:`NAMES` or a province has no outline.
    """
    features = json.loads(source.read_text(encoding="utf-8"))["features"]
    unknown = sorted({f["properties"]["shapeName"] for f in features} - NAMES.keys())
    if unknown:
        raise SystemExit(f"{source}: shapeName(s) not in NAMES: {unknown}")
    with (HERE / "provinces.csv").open(newline="", encoding="utf-8") as fh:
        order = [r["province"] for r in csv.DictReader(fh)]
    names = [NAMES[f["properties"]["shapeName"]] for f in features]
    if sorted(names) != sorted(order):
        raise SystemExit(f"{source}: provinces differ from provinces.csv: {sorted(set(order) ^ set(names))}")
    simple = shapely.coverage_simplify([shape(f["geometry"]) for f in features], TOLERANCE)
    geoms = dict(zip(names, simple, strict=True))
    out = [{"type": "Feature", "properties": {"province": n}, "geometry": _rounded(mapping(orient(geoms[n])))}
           for n in order]
    return {"type": "FeatureCollection", "features": out}


def main(argv: list[str]) -> int:
    """Write the derived file; arguments: the source file and, optionally, the output file."""
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    target = Path(argv[1]) if len(argv) == 2 else HERE / "polygons.geojson"
    collection = build(Path(argv[0]))
    text = json.dumps(collection, separators=(",", ":"))
    target.write_text(text.replace('{"type":"Feature"', '\n{"type":"Feature"') + "\n", encoding="utf-8")
    bad = [f["properties"]["province"] for f in collection["features"] if not shape(f["geometry"]).is_valid]
    size = f"{len(text) / 1000:.0f} kB"
    print(f"{target.name}: {len(collection['features'])} provinces, {size}, invalid: {bad or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
