"""The map: provinces, their adjacency and international borders, as numpy arrays.

A map is any folder holding three CSV files:

* ``provinces.csv``: ``province,capital,population,area_km2,lat,lon,region,ruggedness,anti_taliban_prior``
* ``adjacency.csv``: ``a,b``, one row per pair of provinces sharing a border
* ``borders.csv``: ``province,country``, one row per province touching a foreign country

and, optionally, ``polygons.geojson``: the province outlines, for figures on a real map (a
GeoJSON FeatureCollection, one Polygon or MultiPolygon feature per province, its
``properties.province`` naming the province as ``provinces.csv`` does; WGS84 longitude and
latitude). A map without it is drawn as capitals and border edges.

The Afghan map ships in ``sim/data/afghanistan`` (sources in its ``SOURCES.md``); a
user can plug in districts, and tests use small synthetic maps. Maps are read once
per process and cached, because a batch builds thousands of models on one map.
"""

from __future__ import annotations

import csv
import difflib
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

PROVINCE_COLUMNS = (
    "province",
    "capital",
    "population",
    "area_km2",
    "lat",
    "lon",
    "region",
    "ruggedness",
    "anti_taliban_prior",
)
DEFAULT_MAP = Path(__file__).parent / "data" / "afghanistan"
POLYGONS = "polygons.geojson"  # the optional outlines of a map folder
EARTH_RADIUS_KM = 6371.0


class MapError(ValueError):
    """A map folder is missing a file or holds a bad value; the message names both."""


@dataclass(frozen=True, eq=False)
class Map:
    """Provinces and their relations, each attribute an array indexed by province.

    Attributes:
        folder: where the map was read from.
        names: province names, in file order.
        capitals: capital city of each province.
        population: settled population (people).
        area: area in km².
        lat: latitude of the capital (degrees).
        lon: longitude of the capital (degrees).
        region: region label of each province.
        ruggedness: share of rugged (mountainous) terrain, in [0, 1].
        prior: prior share of the population opposed to the Taliban, in [0, 1].
        adjacency: symmetric boolean matrix, True where two provinces share a border.
        countries: the foreign countries on the map's borders, sorted.
        border: boolean matrix countries x provinces, True where a province touches that country.
        distance_km: great-circle distance between provincial capitals (km).
        nb_ptr: CSR row pointers of the adjacency (length n + 1).
        nb_idx: CSR neighbour indices, sorted within each province.
        outlines: per province, the rings of its outline as (k, 2) arrays of longitude and
            latitude (exteriors and holes); None when the folder has no ``polygons.geojson``.
    """

    folder: Path
    names: tuple[str, ...]
    capitals: tuple[str, ...]
    population: np.ndarray
    area: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    region: tuple[str, ...]
    ruggedness: np.ndarray
    prior: np.ndarray
    adjacency: np.ndarray
    countries: tuple[str, ...]
    border: np.ndarray
    distance_km: np.ndarray
    nb_ptr: np.ndarray
    nb_idx: np.ndarray
    index: dict[str, int] = field(repr=False)
    outlines: tuple[tuple[np.ndarray, ...], ...] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Number of provinces."""
        return len(self.names)

    def province_index(self, name: str) -> int:
        """Index of a province by name.

        Raises:
            KeyError: if the map has no such province.
        """
        return self.index[name]

    def border_mask(self, country: str) -> np.ndarray:
        """Boolean mask of the provinces touching ``country`` (all False if none do)."""
        if country in self.countries:
            return self.border[self.countries.index(country)]
        return np.zeros(self.n, dtype=bool)

    def graph(self) -> nx.Graph:
        """The province adjacency as a networkx graph, nodes labelled by province index."""
        return _graph(self)


@functools.lru_cache(maxsize=16)
def _graph(m: Map) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(m.n))
    ii, jj = np.nonzero(np.triu(m.adjacency))
    g.add_edges_from(zip(ii.tolist(), jj.tolist(), strict=True))
    return g


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise MapError(f"{path}: file not found (a map folder needs provinces.csv, adjacency.csv, borders.csv)")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = tuple(reader.fieldnames or ())
        missing = [c for c in columns if c not in header]
        if missing:
            raise MapError(f"{path}: missing column(s) {missing}; found {list(header)}")
        return list(reader)


def _number(path: Path, row: int, col: str, text: str, lo: float, hi: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise MapError(f"{path}: row {row}, column '{col}': expected a number, found {text!r}") from None
    if not lo <= value <= hi or value != value:
        raise MapError(f"{path}: row {row}, column '{col}': expected a value in [{lo}, {hi}], found {value}")
    return value


def haversine_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distances between all pairs of points, in km."""
    la, lo = np.radians(lat), np.radians(lon)
    dlat = la[:, None] - la[None, :]
    dlon = lo[:, None] - lo[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(la)[:, None] * np.cos(la)[None, :] * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


@functools.lru_cache(maxsize=16)
def load_map(folder: str | Path = DEFAULT_MAP) -> Map:
    """Read and check a map folder (cached per resolved path).

    Args:
        folder: a folder holding provinces.csv, adjacency.csv and borders.csv.

    Returns:
        The map. Its arrays are shared by every model built on it: treat them as constants.

    Raises:
        MapError: naming the file, row and column of the first problem found.
    """
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise MapError(f"{folder}: map folder not found")
    p_path = folder / "provinces.csv"
    rows = _read_csv(p_path, PROVINCE_COLUMNS)
    if not rows:
        raise MapError(f"{p_path}: no provinces")
    names: list[str] = []
    for k, r in enumerate(rows, start=2):
        name = r["province"].strip()
        if not name or name in names:
            raise MapError(f"{p_path}: row {k}, column 'province': empty or duplicate name {name!r}")
        names.append(name)
    index = {n: i for i, n in enumerate(names)}

    def col(c: str, lo: float, hi: float) -> np.ndarray:
        return np.array([_number(p_path, k, c, r[c], lo, hi) for k, r in enumerate(rows, start=2)])

    population = col("population", 0, 1e10)
    area = col("area_km2", 1e-6, 1e8)
    lat = col("lat", -90, 90)
    lon = col("lon", -180, 180)
    rug = col("ruggedness", 0, 1)
    prior = col("anti_taliban_prior", 0, 1)

    a_path = folder / "adjacency.csv"
    adjacency = np.zeros((len(names), len(names)), dtype=bool)
    for k, r in enumerate(_read_csv(a_path, ("a", "b")), start=2):
        a, b = r["a"].strip(), r["b"].strip()
        for c, v in (("a", a), ("b", b)):
            if v not in index:
                raise MapError(f"{a_path}: row {k}, column '{c}': unknown province {v!r}")
        if a == b:
            raise MapError(f"{a_path}: row {k}: a province cannot border itself ({a!r})")
        adjacency[index[a], index[b]] = adjacency[index[b], index[a]] = True
    degree = adjacency.sum(axis=1)

    b_path = folder / "borders.csv"
    brows = _read_csv(b_path, ("province", "country"))
    countries = tuple(sorted({r["country"].strip() for r in brows}))
    border = np.zeros((len(countries), len(names)), dtype=bool)
    for k, r in enumerate(brows, start=2):
        p = r["province"].strip()
        if p not in index:
            raise MapError(f"{b_path}: row {k}, column 'province': unknown province {p!r}")
        border[countries.index(r["country"].strip()), index[p]] = True

    nb_ptr = np.concatenate([[0], np.cumsum(degree)]).astype(np.int64)
    nb_idx = np.nonzero(adjacency)[1].astype(np.int64)
    # the arrays stay writeable: the kernels take them, and numba types read-only arrays slowly
    distance = haversine_km(lat, lon)
    return Map(
        folder=folder,
        names=tuple(names),
        capitals=tuple(r["capital"].strip() for r in rows),
        population=population,
        area=area,
        lat=lat,
        lon=lon,
        region=tuple(r["region"].strip() for r in rows),
        ruggedness=rug,
        prior=prior,
        adjacency=adjacency,
        countries=countries,
        border=border,
        distance_km=distance,
        nb_ptr=nb_ptr,
        nb_idx=nb_idx,
        index=index,
        outlines=load_outlines(folder / POLYGONS, index),
    )


def _rings(where: str, geometry: object) -> list[np.ndarray]:
    """The rings of a GeoJSON Polygon or MultiPolygon, each a (k, 2) array of lon, lat."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise MapError(f"{where}.type: expected Polygon or MultiPolygon, found {kind!r}")
    coords = geometry.get("coordinates")
    polygons = coords if kind == "MultiPolygon" else [coords]
    try:
        rings = [np.asarray(ring, dtype=float) for poly in polygons for ring in poly]
    except (TypeError, ValueError):
        rings = []
    if not rings or any(r.ndim != 2 or r.shape[0] < 4 or r.shape[1] != 2 for r in rings):
        raise MapError(f"{where}.coordinates: expected {kind} rings of at least 4 [lon, lat] points")
    if not all(np.all(np.abs(r[:, 0]) <= 180) and np.all(np.abs(r[:, 1]) <= 90) for r in rings):
        raise MapError(f"{where}.coordinates: expected longitudes in [-180, 180] and latitudes in [-90, 90]")
    return rings


def _features(path: Path) -> list[object]:
    """The features of a GeoJSON FeatureCollection file (one-line errors for bad JSON or structure)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise MapError(f"{path}: line {e.lineno}, column {e.colno}: malformed JSON ({e.msg})") from None
    except UnicodeDecodeError:
        raise MapError(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise MapError(f"{path}: type: expected 'FeatureCollection', found {found!r}")
    if not isinstance(data.get("features"), list):
        raise MapError(f"{path}: features: expected a list of features")
    return data["features"]


def _feature_province(path: Path, k: int, feature: object, index: dict[str, int]) -> str:
    """The province a feature names, checked against the map's provinces."""
    where = f"{path}: features[{k}].properties.province"
    props = feature.get("properties") if isinstance(feature, dict) else None
    name = props.get("province") if isinstance(props, dict) else None
    if not isinstance(name, str):
        raise MapError(f"{where}: expected a province name, found {name!r}")
    if name not in index:
        close = difflib.get_close_matches(name, list(index), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise MapError(f"{where}: unknown province {name!r} (not in provinces.csv){hint}")
    return name


def load_outlines(path: Path, index: dict[str, int]) -> tuple[tuple[np.ndarray, ...], ...] | None:
    """Read and check a map's polygons file: every province of ``index`` outlined exactly once.

    Args:
        path: the ``polygons.geojson`` of a map folder.
        index: province name -> index, from ``provinces.csv``.

    Returns:
        Per province (in ``index`` order), its rings; None when the file does not exist.

    Raises:
        MapError: one line naming the file and the field (``features[3].properties.province``).
    """
    if not path.is_file():
        return None
    found: dict[str, tuple[int, list[np.ndarray]]] = {}
    for k, feature in enumerate(_features(path)):
        name = _feature_province(path, k, feature, index)
        if name in found:
            raise MapError(f"{path}: features[{k}].properties.province: duplicate province {name!r} "
                           f"(also features[{found[name][0]}])")
        found[name] = (k, _rings(f"{path}: features[{k}].geometry", feature.get("geometry")))
    missing = [n for n in index if n not in found]
    if missing:
        raise MapError(f"{path}: features: no outline for province(s) {', '.join(missing)}")
    return tuple(tuple(found[n][1]) for n in index)
