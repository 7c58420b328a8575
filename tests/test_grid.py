"""yizhan.geo.grid: square and H3 cells, weight per group and window, collapsing demand."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from yizhan.geo import grid
from yizhan.geo.grid import (
    CellSpec,
    assign_cells,
    collapse_demand,
    grid_demand,
    local_crs,
    parse_cell,
)

from yizhan.errors import ConfigError

GROUPS = ("rider", "courier", "driver", "sanitation")


def demand(n: int = 2000, *, seed: int = 0, windows: bool = True) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = rng.normal(114.05, 0.02, n)
    lat = rng.normal(22.54, 0.015, n)
    data = {
        "demand_id": [f"d{i}" for i in range(n)],
        "weight": rng.uniform(0.5, 4.0, n),
        "group": rng.choice(GROUPS, n),
    }
    if windows:
        data["window"] = rng.choice(["lunch", "dinner", "night"], n)
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


# --- synthetic -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250m", CellSpec("square", size_m=250.0)),
        (" 0.5 km", CellSpec("square", size_m=500.0)),
        (100, CellSpec("square", size_m=100.0)),
        ("h3:9", CellSpec("h3", resolution=9)),
        ("H3=7", CellSpec("h3", resolution=7)),
    ],
)
def test_parse_cell(text, expected):
    assert parse_cell(text) == expected


@pytest.mark.parametrize("text", ["abc", "-5m", "0m", "h3:16", 0, float("nan"), "250 ft"])
def test_parse_cell_rejects(text):
    with pytest.raises(ConfigError):
        parse_cell(text)


@pytest.mark.parametrize("cell", ["250m", "h3:9"])
def test_grid_conserves_weight_per_group_and_window(cell):
    points = demand()
    cells = grid_demand(points, cell=cell)
    assert cells.crs.to_epsg() == 4326
    assert cells["weight"].sum() == pytest.approx(points["weight"].sum(), rel=1e-12)
    assert cells["n_points"].sum() == len(points)
    for group, total in points.groupby("group")["weight"].sum().items():
        assert cells[f"weight_{group}"].sum() == pytest.approx(total, rel=1e-12)
    for window, total in points.groupby("window")["weight"].sum().items():
        assert cells[f"weight_at_{window}"].sum() == pytest.approx(total, rel=1e-12)
    group_cols = [f"weight_{g}" for g in sorted(GROUPS)]
    assert np.allclose(cells[group_cols].sum(axis=1), cells["weight"])
    assert cells["cell_id"].is_unique
    # the dominant group is the heaviest group of the cell
    heaviest = np.array(sorted(GROUPS))[np.argmax(cells[group_cols].to_numpy(), axis=1)]
    assert (cells["dominant_group"].to_numpy() == heaviest).all()


def test_square_cells_hold_their_points_and_measure_the_size():
    points = demand(800)
    assignment = assign_cells(points, cell="250m")
    polys = grid.cell_polygons(assignment).to_numpy()
    assert shapely.covers(polys[assignment.codes], points.geometry.to_numpy()).all()
    utm = gpd.GeoSeries(polys, crs="EPSG:4326").to_crs(assignment.crs)
    assert np.allclose(utm.area, 250.0 * 250.0, rtol=1e-3)


def test_h3_cells_match_the_h3_library():
    points = demand(300, windows=False)
    assignment = assign_cells(points, cell="h3:9")
    expected = [h3.latlng_to_cell(p.y, p.x, 9) for p in points.geometry]
    assert list(assignment.cell_ids[assignment.codes]) == expected
    polys = grid.cell_polygons(assignment).to_numpy()
    centres = [h3.cell_to_latlng(c) for c in assignment.cell_ids]
    assert shapely.covers(polys, shapely.points([(b, a) for a, b in centres])).all()


def test_h3_fast_path_equals_scalar_path():
    pytest.importorskip("h3ronpy")
    rng = np.random.default_rng(3)
    lat = rng.uniform(22.4, 22.9, 5000)
    lon = rng.uniform(113.7, 114.6, 5000)
    for res in (7, 9, 11):
        assert np.array_equal(grid._h3_cells(lat, lon, res), grid._h3_cells_scalar(lat, lon, res))


def test_square_lattice_is_absolute():
    """A point gets the same cell id whatever other points are gridded with it."""
    points = demand(500, windows=False)
    crs = local_crs(np.array([114.05]), np.array([22.54]))
    alone = assign_cells(points.iloc[[7]], cell="250m", crs=crs).cell_ids[0]
    together = assign_cells(points, cell="250m", crs=crs)
    assert together.cell_ids[together.codes[7]] == alone


def test_grid_is_deterministic_and_order_free():
    points = demand(1500)
    a = grid_demand(points, cell="250m")
    b = grid_demand(points.sample(frac=1.0, random_state=1), cell="250m")
    pd.testing.assert_frame_equal(
        a.drop(columns="geometry"), b.drop(columns="geometry"), check_exact=False, rtol=1e-12
    )


def test_grid_without_windows_has_no_window_columns():
    cells = grid_demand(demand(100, windows=False), cell="500m")
    assert "peak_window" not in cells.columns
    assert not any(c.startswith("weight_at_") for c in cells.columns)


def test_empty_points_give_empty_grid():
    empty = demand(0)
    cells = grid_demand(empty, cell="250m")
    assert len(cells) == 0
    assert {"cell_id", "weight", "n_points", "dominant_group", "geometry"} <= set(cells.columns)
    assert len(collapse_demand(empty, cell="50m")) == 0


def test_rejects_bad_weights():
    points = demand(10)
    points.loc[3, "weight"] = 0.0
    with pytest.raises(ValueError, match="weight"):
        grid_demand(points)


def test_collapse_keeps_every_group_and_window_total():
    points = demand(5000)
    collapsed = collapse_demand(points, cell="100m")
    assert len(collapsed) < len(points)
    assert collapsed["demand_id"].is_unique
    assert collapsed["n_points"].sum() == len(points)
    got = collapsed.groupby(["group", "window"])["weight"].sum()
    want = points.groupby(["group", "window"])["weight"].sum()
    pd.testing.assert_series_equal(got, want, check_exact=False, rtol=1e-12)
    # every merged point sits inside its cell (weighted centre of members of one square)
    assignment = assign_cells(collapsed, cell="100m")
    assert (assignment.cell_ids[assignment.codes] == collapsed["cell_id"].to_numpy()).all()


def test_collapse_positions_are_weighted_centres():
    pts = gpd.GeoDataFrame(
        {"weight": [1.0, 3.0], "group": ["rider", "rider"]},
        geometry=gpd.points_from_xy([114.05000, 114.05040], [22.54000, 22.54000]),
        crs="EPSG:4326",
    )
    out = collapse_demand(pts, cell="1km")
    assert len(out) == 1
    assert out["weight"].iloc[0] == 4.0
    crs = local_crs(np.array([114.05]), np.array([22.54]))
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, _ = fwd.transform([114.05, 114.0504, out.geometry.x.iloc[0]], [22.54] * 3)
    assert x[2] == pytest.approx((x[0] + 3 * x[1]) / 4, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(113.7, 114.6),
            st.floats(22.4, 22.9),
            st.floats(0.001, 1e4),
            st.sampled_from(GROUPS),
        ),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from(["50m", "300m", "2km", "h3:8"]),
)
def test_gridding_conserves_weight_property(rows, cell):
    lon, lat, weight, group = zip(*rows, strict=True)
    pts = gpd.GeoDataFrame(
        {"weight": weight, "group": group}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"
    )
    cells = grid_demand(pts, cell=cell)
    assert cells["weight"].sum() == pytest.approx(sum(weight), rel=1e-9)
    assert cells["n_points"].sum() == len(rows)
    collapsed = collapse_demand(pts, cell=cell)
    assert collapsed["weight"].sum() == pytest.approx(sum(weight), rel=1e-9)


# --- real data -----------------------------------------------------------------------------


def test_real_taxi_pickups_grid_conserves_weight(taxi_csv):
    raw = pd.read_csv(taxi_csv)
    pts = gpd.GeoDataFrame(
        {"weight": np.ones(len(raw)), "group": "driver"},
        geometry=gpd.points_from_xy(raw["Lng"], raw["Lat"]),
        crs="EPSG:4326",
    )
    for cell in ("250m", "h3:9"):
        cells = grid_demand(pts, cell=cell)
        assert cells["weight"].sum() == pytest.approx(len(raw))
        assert cells["n_points"].sum() == len(raw)
        assert len(cells) < len(raw)
