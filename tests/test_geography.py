"""The Afghan map against real borders, and the map loader on synthetic and broken maps."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from sim.geography import DEFAULT_MAP, MapError, load_map

# Neighbours checked against the administrative map (post-2004 boundaries, 34 provinces).
KNOWN_NEIGHBOURS = {
    "Panjshir": {"Baghlan", "Takhar", "Badakhshan", "Nuristan", "Laghman", "Kapisa", "Parwan"},
    "Kabul": {"Parwan", "Kapisa", "Laghman", "Nangarhar", "Logar", "Wardak"},
    "Nimroz": {"Farah", "Helmand"},
    "Daykundi": {"Bamyan", "Ghor", "Helmand", "Uruzgan", "Ghazni"},
    "Zabul": {"Kandahar", "Uruzgan", "Ghazni", "Paktika"},
    "Khost": {"Paktia", "Paktika"},
}
KNOWN_BORDERS = {
    "China": {"Badakhshan"},
    "Iran": {"Herat", "Farah", "Nimroz"},
    "Uzbekistan": {"Balkh"},
}


@pytest.fixture(scope="module")
def afg():
    return load_map(DEFAULT_MAP)


def test_thirty_four_provinces_with_positive_figures(afg):
    assert afg.n == 34, "Afghanistan has 34 provinces"
    assert (afg.population > 0).all() and (afg.area > 0).all()
    # settled population about 32-35 million, area about 652,000 km2 (NSIA)
    assert 30e6 < afg.population.sum() < 36e6
    assert abs(afg.area.sum() - 652_864) / 652_864 < 0.01


@pytest.mark.parametrize("province", sorted(KNOWN_NEIGHBOURS))
def test_adjacency_matches_real_borders(afg, province):
    i = afg.province_index(province)
    got = {afg.names[j] for j in np.flatnonzero(afg.adjacency[i])}
    assert got == KNOWN_NEIGHBOURS[province], f"neighbours of {province}"


def test_adjacency_symmetric_connected_and_local(afg):
    assert (afg.adjacency == afg.adjacency.T).all(), "adjacency must be symmetric"
    assert not afg.adjacency.diagonal().any(), "no province borders itself"
    assert nx.is_connected(afg.graph()), "the country is one connected piece"
    # neighbouring capitals lie within 400 km of each other
    assert afg.distance_km[afg.adjacency].max() < 400


@pytest.mark.parametrize("country", sorted(KNOWN_BORDERS))
def test_international_borders(afg, country):
    got = {afg.names[j] for j in np.flatnonzero(afg.border_mask(country))}
    assert KNOWN_BORDERS[country] <= got, f"provinces on the {country} border"
    assert "Logar" not in got and "Laghman" not in got


def test_pakistan_border_runs_south_and_east(afg):
    pak = {afg.names[j] for j in np.flatnonzero(afg.border_mask("Pakistan"))}
    assert {"Nangarhar", "Kunar", "Khost", "Paktika", "Kandahar", "Helmand", "Zabul"} <= pak
    assert "Kabul" not in pak


def test_csr_neighbours_match_dense(afg):
    for i in range(afg.n):
        row = afg.nb_idx[afg.nb_ptr[i]:afg.nb_ptr[i + 1]]
        assert set(row.tolist()) == set(np.flatnonzero(afg.adjacency[i]).tolist())


def test_synthetic_map_loads(synthetic):
    m = load_map(synthetic.parent / "map")
    assert m.names == ("Alpha", "Bravo", "Charlie", "Delta")
    assert m.countries == ("Northland", "Southland")
    assert m.adjacency.sum() == 10


@pytest.mark.parametrize("broken, message", [
    (("adjacency.csv", "a,b\nAlpha,Zulu\n"), "unknown province 'Zulu'"),
    (("adjacency.csv", "a,b\nAlpha,Alpha\n"), "cannot border itself"),
    (("borders.csv", "province,country\nZulu,Northland\n"), "unknown province 'Zulu'"),
    (("provinces.csv", "province,capital\nAlpha,A\n"), "missing column"),
])
def test_broken_maps_name_file_and_field(synthetic, broken, message):
    folder = synthetic.parent / "map"
    name, text = broken
    (folder / name).write_text(text)
    load_map.cache_clear()
    with pytest.raises(MapError, match=message) as err:
        load_map(folder)
    assert name in str(err.value)


def test_missing_map_file(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(MapError, match=r"provinces\.csv: file not found"):
        load_map(tmp_path / "m")
