"""Province outlines: the shipped polygons file, its loader's errors, and the map figures drawn from real results."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.path import Path as MPath

from sim import maps, plots
from sim.geography import DEFAULT_MAP, POLYGONS, MapError, load_map
from sim.store import read_parts
from tests.conftest import BASELINE, ROOT

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


# --- the figures, from a real results folder ------------------------------------------------------

@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maps") / "r"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(BASELINE), "-n", "2", "--seed", "3",
                        "--months", "3", "--figures", "summary", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr
    return out


def _data(results: Path, step: int) -> maps.MapData:
    m = load_map(DEFAULT_MAP)
    at = [("step", "in", [0, step])]
    prov = read_parts(results, "provinces", ["province", "actor", "date", "step", "replication", "control"], at)
    caps = read_parts(results, "capitals", ["province", "holder", "step", "replication"], at)
    return maps.map_data(prov, caps, m, step, maps.actors_of(results, "baseline"))


def test_the_cli_draws_the_map_figures_at_their_stated_size(results):
    from PIL import Image

    for name, step in (("map_month_000.png", 0), ("map_month_003.png", 3)):
        f = results / "figures" / name
        assert f.stat().st_size > 50_000
        w, h = maps.figure_size(_data(results, step))
        with Image.open(f) as im:
            assert np.allclose(im.size, (w * plots.DPI, h * plots.DPI), atol=1), name
            pixels = np.asarray(im.convert("L"))
        assert (pixels < 128).mean() > 0.01, "something dark is drawn (outlines, labels)"


def test_map_data_sums_blocs_and_names_holders_by_label(results):
    d = _data(results, 3)
    assert d.blocs[0] == "Taliban" and any(b.startswith("Resistance (") for b in d.blocs)
    assert d.control.shape == (len(d.blocs), 34) and np.allclose(d.control.sum(axis=0), 1.0, atol=1e-6)
    assert d.odds is not None and np.allclose(d.odds.sum(axis=0), 1.0), "two runs: odds of the capital's holder"
    assert d.change is not None and abs(d.change.sum()) < 1e-6, "control moves between blocs; the total stays 1"
    assert "Taliban" in d.holders and (d.holder >= 0).all()
    start = _data(results, 0)
    assert start.change is None


def _overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of texts on the holder panel whose rendered boxes overlap."""
    renderer = fig.canvas.get_renderer()
    ax = next(a for a in fig.axes if a.get_label() == "holders")
    texts = [t for t in ax.texts if t.get_text() and t.get_transform() is ax.transData]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    return [(a, b) for k, (a, ba) in enumerate(boxes) for b, bb in boxes[k + 1:] if ba.overlaps(bb)]


@pytest.mark.parametrize("step", [0, 3])
def test_no_two_province_labels_overlap_and_every_province_is_labelled(results, step):
    m = load_map(DEFAULT_MAP)
    fig = maps.build_figure(_data(results, step), m, plots.DPI)
    fig.canvas.draw()
    assert _overlaps(fig) == []
    ax = next(a for a in fig.axes if a.get_label() == "holders")
    shown = {t.get_text() for t in ax.texts if t.get_transform() is ax.transData}
    key = next(t.get_text() for t in ax.texts if t.get_transform() is ax.transAxes)
    numbered = dict(re.findall(r"(\d+) ([A-Za-z][A-Za-z -]*?)(?=\s{2,}|\n|$)", key))
    assert set(m.names) == (shown - set(numbered)) | set(numbered.values()), "each province named or numbered"
    assert set(numbered) <= shown, "every number of the key is on the map"
    assert {"Kabul", "Kapisa", "Panjshir"} <= set(numbered.values()), "the small provinces go to the key"


def test_the_overlap_check_sees_an_overlap(results):
    fig = maps.build_figure(_data(results, 0), load_map(DEFAULT_MAP), plots.DPI)
    ax = next(a for a in fig.axes if a.get_label() == "holders")
    ax.text(69.2, 34.5, "Kabul overlaps")
    ax.text(69.3, 34.5, "Kapisa overlaps")
    fig.canvas.draw()
    assert ("Kabul overlaps", "Kapisa overlaps") in _overlaps(fig)


def test_a_map_without_outlines_keeps_the_capitals_drawing(results, tmp_path):
    m = dataclasses.replace(load_map(DEFAULT_MAP), outlines=None)
    files = plots.make_figures(results, m, which="summary", subdir="plain")
    from PIL import Image

    with Image.open(files[-1]) as im:
        assert im.size == (round(8.5 * plots.DPI), round(6.8 * plots.DPI)), "the pie map of a map without outlines"


def test_holder_colours_are_okabe_ito_and_distinct():
    keys = ["taliban", "nrf", "northern_alliance", "someone", "iskp"]
    got = maps.holder_colours(keys)
    assert len(set(got)) == len(keys), "two holders never share a colour"
    assert set(got) <= set(maps.OKABE_ITO)
    assert got[0] == maps.HOLDER_COLOURS["taliban"], "a shipped actor keeps its colour across scenarios"


def test_a_bloc_that_lost_all_its_ground_still_shows_its_loss(synthetic):
    import pandas as pd

    load_map.cache_clear()
    m = load_map(synthetic.parent / "map")
    rows = [(p, a, step, r, float((a == "gov") == (step == 0)))
            for p in m.names for a in ("gov", "rebels") for step in (0, 2) for r in (0, 1)]
    prov = pd.DataFrame(rows, columns=["province", "actor", "step", "replication", "control"])
    prov["date"] = "2020-01-01"
    caps = pd.DataFrame([(p, "rebels", 2, r) for p in m.names for r in (0, 1)],
                        columns=["province", "holder", "step", "replication"])
    actors = {"gov": maps.Actor("Government", "government"), "rebels": maps.Actor("Rebels", "resistance")}
    d = maps.map_data(prov, caps, m, 2, actors)
    assert d.blocs == ["Government", "Rebels"]
    np.testing.assert_allclose(d.control, [[0, 0, 0, 0], [1, 1, 1, 1]])
    np.testing.assert_allclose(d.change, [[-1, -1, -1, -1], [1, 1, 1, 1]])
    np.testing.assert_allclose(d.odds, [[0, 0, 0, 0], [1, 1, 1, 1]])
    assert d.holders == ["Rebels"] and (d.holder == 0).all()
