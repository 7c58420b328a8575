import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point
from yizhan.stations.readers import read_table

from yizhan.errors import InputFileError

ROWS = [["站点名称", "经度", "纬度", "洗手间"], ["甲站", "113.03", "22.45", "是"], ["乙站", "113.04", "22.46", "否"]]


def _csv_text(rows, sep=","):
    return "\n".join(sep.join(r) for r in rows) + "\n"


def test_csv_utf8_with_bom(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(_csv_text(ROWS).encode("utf-8-sig"))
    frame = read_table(path)
    assert list(frame.columns) == ROWS[0]
    assert list(frame.index) == [2, 3]
    assert frame.loc[2, "站点名称"] == "甲站"


def test_csv_gbk(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(_csv_text(ROWS).encode("gbk"))
    frame = read_table(path)
    assert frame.loc[3, "站点名称"] == "乙站"
    assert frame.loc[3, "洗手间"] == "否"


def test_csv_semicolon_and_blank_lines(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(_csv_text([ROWS[0], ROWS[1], ["", "", "", ""], ROWS[2]], sep=";"), encoding="utf-8")
    frame = read_table(path)
    assert list(frame.index) == [2, 4]  # row numbers stay as the user sees them


def test_xlsx_with_title_row(tmp_path):
    import openpyxl

    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["某区驿站台账"])
    for r in ROWS:
        wb.active.append(r)
    wb.save(path)
    frame = read_table(path)
    assert list(frame.columns) == ROWS[0]
    assert list(frame.index) == [3, 4]  # header on Excel row 2


def test_vector_formats(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["甲", "乙"]}, geometry=[Point(113.0, 22.4), Point(113.1, 22.5)],
                           crs="EPSG:4326")
    for name, driver in (("a.geojson", "GeoJSON"), ("a.gpkg", "GPKG"), ("a.shp", "ESRI Shapefile")):
        path = tmp_path / name
        gdf.to_file(path, driver=driver)
        frame = read_table(path)
        assert isinstance(frame, gpd.GeoDataFrame)
        assert list(frame.index) == [2, 3]
        assert list(frame["name"]) == ["甲", "乙"]


def test_parquet(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({"lon": [113.0], "lat": [22.4]}).to_parquet(path)
    frame = read_table(path)
    assert list(frame.index) == [2]


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    bad = tmp_path / "a.doc"
    bad.write_text("x")
    with pytest.raises(InputFileError, match="Unsupported"):
        read_table(bad)


def test_extra_cells_beyond_header_are_kept(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name,lon,lat\na,1,2,extra\n", encoding="utf-8")
    frame = read_table(path)
    assert frame.loc[2, "column_4"] == "extra"
