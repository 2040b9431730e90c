"""Province outlines: the shipped polygons file and its loader's errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from matplotlib.path import Path as MPath

from sim.geography import DEFAULT_MAP, POLYGONS, MapError, load_map

SQUARES = {"Alpha": (68.0, 34.0), "Bravo": (69.0, 35.0), "Charlie": (70.0, 34.0), "Delta": (69.0, 33.0)}


def _square(lon: float, lat: float) -> dict:
    ring = [[lon - 0.5, lat - 0.5], [lon + 0.5, lat - 0.5], [lon + 0.5, lat + 0.5], [lon - 0.5, lat + 0.5],
            [lon - 0.5, lat - 0.5]]
    return {"type": "Polygon", "coordinates": [ring]}


def _collection(names: list[str]) -> dict:
    features = [{"type": "Feature", "properties": {"province": n}, "geometry": _square(*SQUARES.get(n, (69, 34)))}
                for n in names]
    return {"type": "FeatureCollection", "features": features}


# --- the shipped file -----------------------------------------------------------------------------

def _degrees_to_outline(rings: tuple[np.ndarray, ...], point: np.ndarray) -> float:
    a = np.concatenate([r[:-1] for r in rings])
    b = np.concatenate([r[1:] for r in rings])
    t = np.clip(((point - a) * (b - a)).sum(1) / ((b - a) ** 2).sum(1), 0, 1)
    return float(np.linalg.norm(point - (a + t[:, None] * (b - a)), axis=1).min())


def test_every_capital_lies_inside_the_outline_of_its_own_province():
    m = load_map(DEFAULT_MAP)
    assert m.outlines is not None and len(m.outlines) == m.n == 34
    for i, name in enumerate(m.names):
        inside = [n for n, rings in zip(m.names, m.outlines, strict=True)
                  if any(MPath(r).contains_point((m.lon[i], m.lat[i])) for r in rings)]
        if name == "Kapisa":  # Mahmud-i-Raqi falls 5 km inside Parwan in the source too (SOURCES.md)
            assert inside == ["Parwan"]
            assert _degrees_to_outline(m.outlines[i], np.array([m.lon[i], m.lat[i]])) < 0.06
            continue
        assert inside == [name], f"the capital of {name} ({m.capitals[i]}) lies in {inside}"


def test_shipped_polygons_are_small_rounded_and_named_as_provinces_csv():
    path = DEFAULT_MAP / POLYGONS
    assert path.stat().st_size < 150_000
    text = path.read_text(encoding="utf-8")
    names = [f["properties"]["province"] for f in json.loads(text)["features"]]
    assert names == list(load_map(DEFAULT_MAP).names)
    assert not re.search(r"\d\.\d{4,}", text), "coordinates rounded to 3 decimals"
    committed = [p for p in DEFAULT_MAP.iterdir() if p.is_file()]
    for p in committed:
        body = p.read_text(encoding="utf-8", errors="replace")
        assert "/work/" not in body and "pypi" not in body.lower(), f"{p.name} names a path or registry of a machine"


# --- the loader: optional, validated --------------------------------------------------------------

def test_a_map_without_polygons_loads_without_outlines(synthetic):
    load_map.cache_clear()
    assert load_map(synthetic.parent / "map").outlines is None


def test_synthetic_polygons_load_in_province_order(synthetic):
    folder = synthetic.parent / "map"
    (folder / POLYGONS).write_text(json.dumps(_collection(["Delta", "Alpha", "Charlie", "Bravo"])))
    load_map.cache_clear()
    m = load_map(folder)
    for i, rings in enumerate(m.outlines):
        assert len(rings) == 1 and rings[0].shape == (5, 2)
        assert tuple(rings[0][:4].mean(axis=0)) == SQUARES[m.names[i]], "each outline under its own province"


@pytest.mark.parametrize("text, field, message", [
    (json.dumps(_collection(["Alpha", "Bravo", "Charlie", "Zulu"])), "features[3].properties.province",
     "unknown province 'Zulu'"),
    (json.dumps(_collection(["Alpha", "Bravo", "Charlie", "Charlie", "Delta"])), "features[3].properties.province",
     "duplicate province 'Charlie' (also features[2])"),
    (json.dumps(_collection(["Alpha", "Bravo", "Delta"])), "features", "no outline for province(s) Charlie"),
    ('{"type": "FeatureCollection", "features": [}', "line 1, column 44", "malformed JSON (Expecting value)"),
    (json.dumps({"type": "Feature"}), "type", "expected 'FeatureCollection'"),
    (json.dumps({**_collection(["Alpha"]), "features": [{"properties": {"province": "Alpha"},
                                                         "geometry": {"type": "Point", "coordinates": [1, 2]}}]}),
     "features[0].geometry.type", "expected Polygon or MultiPolygon"),
    (json.dumps({"type": "FeatureCollection", "features": [{"properties": {"province": "Alpha"}, "geometry": {
        "type": "Polygon", "coordinates": [[[68, 34], [69, 34]]]}}]}), "features[0].geometry.coordinates",
     "at least 4"),
    (json.dumps({"type": "FeatureCollection", "features": [{"properties": {"name": "Alpha"}}]}),
     "features[0].properties.province", "expected a province name"),
])
def test_broken_polygons_give_one_line_naming_file_and_field(synthetic, text, field, message):
    folder = synthetic.parent / "map"
    (folder / POLYGONS).write_text(text)
    load_map.cache_clear()
    with pytest.raises(MapError) as err:
        load_map(folder)
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(f"{folder.resolve() / POLYGONS}: {field}"), line
    assert message in line, line


def test_unknown_name_suggests_the_close_one(synthetic):
    folder = synthetic.parent / "map"
    (folder / POLYGONS).write_text(json.dumps(_collection(["Alpha", "Bravo", "Charlie", "Deltta"])))
    load_map.cache_clear()
    with pytest.raises(MapError, match=r"unknown province 'Deltta' \(not in provinces.csv\); did you mean 'Delta'"):
        load_map(folder)
