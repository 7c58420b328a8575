"""Tests for stations.coords: WGS-84 / GCJ-02 / BD-09 transforms and the datum check."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from yizhan.stations import coords
from yizhan.stations.coords import (
    CHINA_BBOX,
    DatumCheck,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_datum,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    normalize_datum,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

from yizhan.errors import ConfigError

_GEOD = Geod(ellps="WGS84")

# China's real extremes (Heilongjiang/Mohe north, Zengmu Ansha south, Pamirs west, Wusuli east),
# all well inside the rough CHINA_BBOX.
CHINA_LON = (73.5, 135.1)
CHINA_LAT = (3.8, 53.6)


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in metres between two sets of points."""
    lon1, lat1, lon2, lat2 = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (lon1, lat1, lon2, lat2))
    )
    return np.asarray(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _china_grid(n_lon: int = 120, n_lat: int = 100) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(*CHINA_LON, n_lon), np.linspace(*CHINA_LAT, n_lat))
    return lon.ravel(), lat.ravel()


# ---------------------------------------------------------------------------------------------
# published reference pairs

# googollee/eviltransform, python/test.py (also javascript/test.js, php tests): TESTS =
# (wgsLat, wgsLng, gcjLat, gcjLng); its tests require wgs2gcj to 6 decimals and the exact
# inverse gcj2wgs_exact within 0.5 m.
EVILTRANSFORM_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # beijing
]

# hujiulong/gcoord, test/unit/crs/{WGS84,GCJ02,BD09}.spec.ts: transform([123, 45]) expected
# with toBeCloseTo(value, 5), i.e. |diff| < 5e-6 degrees. (lon, lat) order.
GCOORD_FROM_123_45 = {
    "wgs84_to_gcj02": (123.00607541, 45.00197815),
    "wgs84_to_bd09": (123.0124491, 45.0083293),
    "gcj02_to_wgs84": (122.99395597, 44.99804071),
    "gcj02_to_bd09": (123.00636499, 45.00636899),
    "bd09_to_gcj02": (122.99363304, 44.99365430),
    "bd09_to_wgs84": (122.98762210, 44.99171540),
}


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_PAIRS)
def test_eviltransform_pairs_forward(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lon, lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    assert lon == pytest.approx(gcj_lon, abs=5e-7)
    assert lat == pytest.approx(gcj_lat, abs=5e-7)


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_PAIRS)
def test_eviltransform_pairs_inverse_to_the_centimetre(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lon, lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    # eviltransform's own bound for its exact inverse is 0.5 m; the iteration does far better.
    assert _metres(lon, lat, wgs_lon, wgs_lat) < 0.01


@pytest.mark.parametrize(("name", "expected"), sorted(GCOORD_FROM_123_45.items()))
def test_gcoord_reference_values(name, expected):
    lon, lat = getattr(coords, name)(123.0, 45.0)
    assert lon == pytest.approx(expected[0], abs=5e-6)
    assert lat == pytest.approx(expected[1], abs=5e-6)


def test_gcoord_outside_china_passthrough():
    # gcoord: transform([183, 45]) toEqual [183, 45] for WGS84->GCJ02 and GCJ02->WGS84.
    assert wgs84_to_gcj02(183.0, 45.0) == (183.0, 45.0)
    assert gcj02_to_wgs84(183.0, 45.0) == (183.0, 45.0)


# ---------------------------------------------------------------------------------------------
# round trips and why iteration is needed

lon_in_china = st.floats(*CHINA_LON, allow_nan=False)
lat_in_china = st.floats(*CHINA_LAT, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(lon=lon_in_china, lat=lat_in_china)
def test_round_trip_wgs_gcj_wgs(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert _metres(*back, lon, lat) < 0.01


@settings(max_examples=400, deadline=None)
@given(lon=lon_in_china, lat=lat_in_china)
def test_round_trip_wgs_bd_wgs(lon, lat):
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert _metres(*back, lon, lat) < 0.01


@settings(max_examples=200, deadline=None)
@given(lon=lon_in_china, lat=lat_in_china)
def test_round_trip_gcj_bd_gcj(lon, lat):
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert _metres(*back, lon, lat) < 0.01


def test_round_trip_on_a_grid_over_china_vectorised():
    lon, lat = _china_grid()
    for forward, inverse in (
        (wgs84_to_gcj02, gcj02_to_wgs84),
        (wgs84_to_bd09, bd09_to_wgs84),
        (gcj02_to_bd09, bd09_to_gcj02),
    ):
        back_lon, back_lat = inverse(*forward(lon, lat))
        assert _metres(back_lon, back_lat, lon, lat).max() < 0.01


def test_round_trip_at_the_cusp_of_the_offset_formula():
    # The offset has sqrt(|lon - 105|) terms with an infinite slope at 105 E; still converges.
    lon = 105.0 + np.array([-1e-9, -1e-12, 0.0, 1e-12, 1e-9, 1e-6])
    lat = np.full_like(lon, 30.0)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert _metres(*back, lon, lat).max() < 0.01


def test_single_step_inverse_is_off_by_metres():
    # The widely copied one-step inverse subtracts the offset evaluated at the GCJ point
    # instead of at the (unknown) WGS point: wgs ~ gcj - offset(gcj) = 2 gcj - forward(gcj).
    # The offset changes by metres over the ~600 m between the two points, so this is off by
    # up to ~5 m; iterating to a fixed point removes the error.
    lon, lat = _china_grid()
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    fwd_lon, fwd_lat = wgs84_to_gcj02(gcj_lon, gcj_lat)
    single_lon, single_lat = 2 * gcj_lon - fwd_lon, 2 * gcj_lat - fwd_lat
    single_err = _metres(single_lon, single_lat, lon, lat)
    exact_err = _metres(*gcj02_to_wgs84(gcj_lon, gcj_lat), lon, lat)
    assert single_err.max() > 2.0
    assert np.median(single_err) > 0.3
    assert exact_err.max() < 0.01
    assert (exact_err < single_err).mean() > 0.99


def test_bd09_inverse_beats_the_closed_form():
    # The usual closed-form BD-09 -> GCJ-02 (gcoord, eviltransform) is approximate too.
    lon, lat = _china_grid(60, 50)
    bd_lon, bd_lat = gcj02_to_bd09(lon, lat)
    x, y = bd_lon - 0.0065, bd_lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * np.pi * 3000 / 180)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * np.pi * 3000 / 180)
    closed_err = _metres(z * np.cos(theta), z * np.sin(theta), lon, lat)
    exact_err = _metres(*bd09_to_gcj02(bd_lon, bd_lat), lon, lat)
    assert closed_err.max() > 0.1
    assert exact_err.max() < 0.001


def test_offsets_have_the_expected_size_in_shenzhen():
    # GCJ-02 moves Shenzhen points ~600 m; BD-09 ~1.2 km more (PROVENANCE of shared data).
    lon, lat = 114.05, 22.54
    assert 400 < _metres(*wgs84_to_gcj02(lon, lat), lon, lat) < 800
    assert 1000 < _metres(*wgs84_to_bd09(lon, lat), lon, lat) < 1600


# ---------------------------------------------------------------------------------------------
# outside China, shapes, NaN

ALL_TRANSFORMS = [
    wgs84_to_gcj02,
    gcj02_to_wgs84,
    gcj02_to_bd09,
    bd09_to_gcj02,
    wgs84_to_bd09,
    bd09_to_wgs84,
]


@pytest.mark.parametrize("transform", ALL_TRANSFORMS)
@pytest.mark.parametrize(
    ("lon", "lat"),
    [(2.3522, 48.8566), (-74.006, 40.7128), (0.0, 0.0), (151.2, -33.9), (22.5, 114.0)],
)
def test_outside_china_passes_through(transform, lon, lat):
    assert transform(lon, lat) == (lon, lat)


@pytest.mark.parametrize("transform", ALL_TRANSFORMS)
def test_mixed_inside_and_outside(transform):
    lon = np.array([2.35, 114.05, -74.0, 116.4])
    lat = np.array([48.85, 22.54, 40.7, 39.9])
    out_lon, out_lat = transform(lon, lat)
    assert np.array_equal(out_lon[[0, 2]], lon[[0, 2]])
    assert np.array_equal(out_lat[[0, 2]], lat[[0, 2]])
    assert np.all(out_lon[[1, 3]] != lon[[1, 3]])
    assert np.all(out_lat[[1, 3]] != lat[[1, 3]])


@pytest.mark.parametrize("transform", ALL_TRANSFORMS)
def test_scalar_in_float_out(transform):
    lon, lat = transform(114.05, 22.54)
    assert type(lon) is float
    assert type(lat) is float


@pytest.mark.parametrize("transform", ALL_TRANSFORMS)
def test_arrays_keep_shape_and_match_scalars(transform):
    lon = np.array([[114.05, 116.4, 121.47], [113.26, 104.07, 87.6]])
    lat = np.array([[22.54, 39.9, 31.23], [23.13, 30.67, 43.8]])
    out_lon, out_lat = transform(lon, lat)
    assert out_lon.shape == lon.shape
    assert out_lat.shape == lat.shape
    for idx in np.ndindex(lon.shape):
        assert (out_lon[idx], out_lat[idx]) == pytest.approx(transform(lon[idx], lat[idx]))


@pytest.mark.parametrize("transform", ALL_TRANSFORMS)
def test_lists_series_and_broadcasting(transform):
    out_lon, out_lat = transform([114.05, 114.06], 22.54)  # scalar latitude broadcasts
    assert isinstance(out_lon, np.ndarray)
    assert out_lon.shape == (2,)
    assert out_lat.shape == (2,)
    series_lon, _ = transform(pd.Series([114.05, 114.06]), pd.Series([22.54, 22.54]))
    assert np.array_equal(series_lon, out_lon)


@pytest.mark.parametrize("transform", ALL_TRANSFORMS)
def test_nan_stays_nan_and_inputs_are_not_modified(transform):
    lon = np.array([114.05, np.nan, 116.4])
    lat = np.array([22.54, 22.5, np.nan])
    lon_before, lat_before = lon.copy(), lat.copy()
    out_lon, out_lat = transform(lon, lat)
    assert np.isnan(out_lon[1])
    assert np.isnan(out_lat[2])
    assert np.isfinite(out_lon[0])
    assert np.array_equal(lon, lon_before, equal_nan=True)
    assert np.array_equal(lat, lat_before, equal_nan=True)


def test_empty_arrays():
    out_lon, out_lat = gcj02_to_wgs84(np.array([]), np.array([]))
    assert out_lon.shape == (0,)
    assert out_lat.shape == (0,)


def test_in_china_box_edges_scalars_and_nan():
    min_lon, min_lat, max_lon, max_lat = CHINA_BBOX
    assert in_china(114.05, 22.54) is True
    assert in_china(min_lon, min_lat) is True
    assert in_china(max_lon, max_lat) is True
    assert in_china(min_lon - 1e-9, 30.0) is False
    assert in_china(100.0, max_lat + 1e-9) is False
    assert in_china(2.35, 48.85) is False
    result = in_china([114.05, 2.35, np.nan], [22.54, 48.85, 30.0])
    assert result.dtype == bool
    assert result.tolist() == [True, False, False]


# ---------------------------------------------------------------------------------------------
# datum names and dispatch


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("wgs84", "wgs84"),
        ("WGS-84", "wgs84"),
        ("wgs_84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("4326", "wgs84"),
        (4326, "wgs84"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("amap", "gcj02"),
        ("Gaode", "gcj02"),
        ("高德", "gcj02"),
        ("tencent", "gcj02"),
        ("腾讯", "gcj02"),
        ("Mars", "gcj02"),
        ("火星", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("Baidu", "bd09"),
        ("百度", "bd09"),
        ("  BD09  ", "bd09"),
    ],
)
def test_normalize_datum_aliases(alias, expected):
    assert normalize_datum(alias) == expected


@pytest.mark.parametrize("bad", ["", "utm", "epsg:3857", "bd09mc", "google", "wgs72"])
def test_normalize_datum_rejects_unknown_names(bad):
    with pytest.raises(ConfigError) as info:
        normalize_datum(bad)
    message = str(info.value)
    assert "未知的坐标系" in message
    for valid in ("wgs84", "gcj02", "bd09"):
        assert valid in message


def test_to_and_from_wgs84_dispatch():
    lon, lat = np.array([114.05, 2.35]), np.array([22.54, 48.85])
    assert np.array_equal(from_wgs84(lon, lat, "gcj02")[0], wgs84_to_gcj02(lon, lat)[0])
    assert np.array_equal(from_wgs84(lon, lat, "百度")[1], wgs84_to_bd09(lon, lat)[1])
    assert np.array_equal(to_wgs84(lon, lat, "amap")[0], gcj02_to_wgs84(lon, lat)[0])
    assert np.array_equal(to_wgs84(lon, lat, "BD-09")[1], bd09_to_wgs84(lon, lat)[1])
    same_lon, same_lat = to_wgs84(lon, lat, "EPSG:4326")
    assert np.array_equal(same_lon, lon)
    assert np.array_equal(same_lat, lat)
    assert same_lon is not lon  # a new array, never the caller's
    assert to_wgs84(114.05, 22.54, "wgs84") == (114.05, 22.54)
    with pytest.raises(ConfigError):
        to_wgs84(lon, lat, "gps-ish")
    with pytest.raises(ConfigError):
        from_wgs84(lon, lat, "utm")


# ---------------------------------------------------------------------------------------------
# datum check: synthetic


def _points_on(streets: gpd.GeoDataFrame, n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 points on the middle part of the inner streets, > 2 km from the grid's edge."""
    rng = np.random.default_rng(seed)
    lines = streets.geometry.to_numpy()
    inner = np.r_[3:6, 12:15]  # streets 3..5 of each direction in a 9 x 9 grid
    which = rng.choice(inner, n)
    where = rng.uniform(0.3, 0.7, n)
    pts = shapely.line_interpolate_point(lines[which], where, normalized=True)
    return shapely.get_x(pts), shapely.get_y(pts)


@pytest.fixture(scope="module")
def grid_streets() -> gpd.GeoDataFrame:
    origin = gpd.GeoSeries(shapely.points([114.0], [22.50]), crs=4326)
    utm = origin.estimate_utm_crs()
    x0, y0 = shapely.get_coordinates(origin.to_crs(utm).to_numpy())[0]
    spacing, n = 1000.0, 9
    size = spacing * (n - 1)
    lines = [
        shapely.LineString([(x0 + i * spacing, y0), (x0 + i * spacing, y0 + size)])
        for i in range(n)
    ] + [
        shapely.LineString([(x0, y0 + i * spacing), (x0 + size, y0 + i * spacing)])
        for i in range(n)
    ]
    return gpd.GeoDataFrame(
        {"highway": ["residential"] * len(lines)},
        geometry=gpd.GeoSeries(lines, crs=utm).to_crs(4326),
    )


def test_check_datum_on_roads_suggests_the_datum_the_points_are_in(grid_streets):
    lon, lat = _points_on(grid_streets, 300)
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)

    as_declared = check_datum(gcj_lon, gcj_lat, declared="gcj02", roads=grid_streets)
    assert as_declared.suggested is None
    assert as_declared.messages == []
    assert as_declared.median_road_distance_m["gcj02"] < 1.0

    mislabelled = check_datum(gcj_lon, gcj_lat, declared="wgs84", roads=grid_streets)
    assert isinstance(mislabelled, DatumCheck)
    assert mislabelled.declared == "wgs84"
    assert mislabelled.suggested == "gcj02"
    assert mislabelled.n_points == 300
    assert 0 < mislabelled.n_compared <= 300
    assert set(mislabelled.median_road_distance_m) == {"wgs84", "gcj02", "bd09"}
    assert mislabelled.median_road_distance_m["wgs84"] > 50
    assert len(mislabelled.messages) == 1
    assert "gcj02" in mislabelled.messages[0]
    assert "请把坐标系设为 gcj02" in mislabelled.messages[0]

    bd_lon, bd_lat = wgs84_to_bd09(lon, lat)
    assert check_datum(bd_lon, bd_lat, declared="amap", roads=grid_streets).suggested == "bd09"
    assert check_datum(lon, lat, declared="百度", roads=grid_streets).suggested == "wgs84"


def test_check_datum_accepts_a_geoseries_in_another_crs(grid_streets):
    lon, lat = _points_on(grid_streets, 200)
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    projected = grid_streets.geometry.to_crs(grid_streets.estimate_utm_crs())
    result = check_datum(gcj_lon, gcj_lat, declared="wgs84", roads=projected)
    assert result.suggested == "gcj02"
    assert result.median_road_distance_m["gcj02"] < 1.0


def test_check_datum_ignores_footpaths_unless_told_otherwise(grid_streets):
    lon, lat = _points_on(grid_streets, 200)
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    # Footpaths exactly where the mislabelled points land would hide the mistake.
    footpaths = gpd.GeoDataFrame(
        {"highway": [["footway", "steps"]] * 200},
        geometry=gpd.GeoSeries(
            shapely.boundary(shapely.buffer(shapely.points(gcj_lon, gcj_lat), 1.0e-5)), crs=4326
        ),
    )
    roads = pd.concat([grid_streets, footpaths], ignore_index=True)
    assert check_datum(gcj_lon, gcj_lat, declared="wgs84", roads=roads).suggested == "gcj02"
    blurred = check_datum(gcj_lon, gcj_lat, declared="wgs84", roads=roads, streets_only=False)
    assert blurred.suggested is None


def test_check_datum_needs_enough_points_within_the_roads(grid_streets):
    lon, lat = _points_on(grid_streets, 5)
    result = check_datum(*wgs84_to_gcj02(lon, lat), declared="wgs84", roads=grid_streets)
    assert result.suggested is None
    assert result.n_compared == 5
    assert any("too few" in m for m in result.messages)

    far_away = check_datum([116.4] * 50, [39.9] * 50, declared="wgs84", roads=grid_streets)
    assert far_away.n_compared == 0
    assert far_away.suggested is None
    assert np.isnan(far_away.median_road_distance_m["wgs84"])


def test_check_datum_warns_about_points_outside_china():
    lon = np.r_[np.full(80, 114.05), np.full(20, 0.0)]
    lat = np.r_[np.full(80, 22.54), np.full(20, 0.0)]
    result = check_datum(lon, lat, declared="wgs84")
    assert result.share_outside_china == pytest.approx(0.2)
    assert result.suggested is None
    assert result.median_road_distance_m == {}
    assert len(result.messages) == 1
    assert "不在中国范围内" in result.messages[0]
    assert "swapped" not in result.messages[0]

    swapped = check_datum(np.full(30, 22.54), np.full(30, 114.05), declared="wgs84")
    assert swapped.share_outside_china == 1.0
    assert "swapped" in swapped.messages[0]

    fine = check_datum(np.full(30, 114.05), np.full(30, 22.54), declared="gcj02")
    assert fine.share_outside_china == 0.0
    assert fine.messages == []


def test_check_datum_without_usable_coordinates_and_bad_names():
    empty = check_datum([np.nan, np.nan], [22.5, np.nan], declared="wgs84")
    assert empty.n_points == 0
    assert empty.suggested is None
    assert empty.messages
    with pytest.raises(ConfigError):
        check_datum([114.0], [22.5], declared="google")


# ---------------------------------------------------------------------------------------------
# datum check: real data (shared/README.md: taxi pick-ups are WGS-84, charging stations GCJ-02)


@pytest.fixture(scope="module")
def futian_roads(futian_graphml) -> gpd.GeoDataFrame:
    import osmnx as ox

    return ox.graph_to_gdfs(ox.load_graphml(futian_graphml), nodes=False)


@pytest.fixture(scope="module")
def futian_2024_roads(futian_2024_graphml) -> gpd.GeoDataFrame:
    import osmnx as ox

    return ox.graph_to_gdfs(ox.load_graphml(futian_2024_graphml), nodes=False)


@pytest.fixture(scope="module")
def taxi_points(taxi_csv) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(taxi_csv, usecols=["Lng", "Lat"])
    return frame["Lng"].to_numpy(), frame["Lat"].to_numpy()


@pytest.fixture(scope="module")
def ev_points(ev_stations_csv) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(ev_stations_csv, usecols=["longitude", "latitude"])
    return frame["longitude"].to_numpy(), frame["latitude"].to_numpy()


@pytest.mark.parametrize("roads_fixture", ["futian_roads", "futian_2024_roads"])
def test_real_taxi_pickups_are_wgs84(request, roads_fixture, taxi_points):
    roads = request.getfixturevalue(roads_fixture)
    result = check_datum(*taxi_points, declared="wgs84", roads=roads)
    assert result.suggested is None
    assert result.messages == []
    assert result.share_outside_china == 0.0
    assert result.n_compared > 300
    medians = result.median_road_distance_m
    assert medians["wgs84"] < 10  # GPS pick-ups sit on the street
    assert medians["gcj02"] > 2 * medians["wgs84"]
    # Declared wrongly, the same points are recognised as WGS-84.
    assert check_datum(*taxi_points, declared="gcj02", roads=roads).suggested == "wgs84"
    assert check_datum(*taxi_points, declared="bd09", roads=roads).suggested == "wgs84"


@pytest.mark.parametrize("roads_fixture", ["futian_roads", "futian_2024_roads"])
def test_real_charging_stations_are_gcj02(request, roads_fixture, ev_points):
    roads = request.getfixturevalue(roads_fixture)
    result = check_datum(*ev_points, declared="wgs84", roads=roads)
    assert result.suggested == "gcj02"
    assert result.n_compared >= 30
    p90 = result.p90_road_distance_m
    assert p90["gcj02"] < 0.6 * p90["wgs84"]
    assert "gcj02" in result.messages[0]
    assert check_datum(*ev_points, declared="gcj02", roads=roads).suggested is None


@pytest.mark.parametrize("name", ["GCJ02", "gcj-02", "baidu", "EPSG:4490", "CGCS2000"])
def test_stations_commands_take_every_datum_alias(name, tmp_path):
    from yizhan.scripts.cli import main

    path = tmp_path / "s.csv"
    path.write_text("编号,名称,经度,纬度\nA1,甲站,113.03,22.52\n", encoding="utf-8")
    assert main(["-q", "stations", "check", str(path), "--crs", name,
                 "--out", str(tmp_path / "out")]) == 0
