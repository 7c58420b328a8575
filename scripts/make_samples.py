"""Author the sample inventories shipped in ``stations/data`` (run once; output is committed).

The stations are invented for demonstration (名称、地址、电话均为示例) around Xinhui district,
Jiangmen; coordinates are given in GCJ-02 as an Amap export would be, and the 2025 workbook has a
title row and deliberately bad rows so that ``yizhan stations check`` has something to report.
"""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl
from yizhan.stations.coords import wgs84_to_gcj02

OUT = Path(__file__).resolve().parent.parent / "stations" / "data"

HEADER = ["站点编号", "站点名称", "地址", "所属镇街", "类型", "经度", "纬度", "建成时间", "联系人",
          "联系电话", "开放时间", "座位数", "洗手间", "直饮水", "应急药箱", "手机充电", "无线网络",
          "微波炉", "桌椅", "纳凉", "备注"]

# id, name, address, town, type, WGS-84 lon, lat, opened, seats, 7 checklist cells, cooling
STATIONS = [
    ("XH001", "会城街道总工会爱心驿站", "会城街道今古洲路1号", "会城街道", "工会自建", 113.0342, 22.4588, "2021-05-01", 12, "是", "是", "是", "是", "是", "是", "是", "有"),
    ("XH002", "圭峰路环卫工人驿站", "会城街道圭峰路88号", "会城街道", "环卫站点", 113.0415, 22.4655, "2021-06-15", 8, "有", "有", "有", "有", "无", "有", "有", "有"),
    ("XH003", "新会汽车站司机之家", "会城街道中心南路汽车站旁", "会城街道", "司机之家", 113.0281, 22.4521, "2022-03-10", 20, "✓", "✓", "✓", "✓", "✓", "✗", "✓", "✓"),
    ("XH004", "银湖湾快递员驿站", "会城街道银湖大道东18号", "会城街道", "合作商户", 113.0502, 22.4433, "2022-07-01", 6, "√", "√", "×", "√", "√", "√", "√", "√"),
    ("XH005", "大泽镇工会驿站", "大泽镇沿江路32号", "大泽镇", "工会自建", 113.0105, 22.5312, "2021-09-01", 10, "1", "1", "1", "1", "1", "1", "1", "1"),
    ("XH006", "大泽五金城骑手驿站", "大泽镇五金城B区", "大泽镇", "合作商户", 113.0229, 22.5405, "2023-04-20", 6, "Y", "Y", "N", "Y", "Y", "N", "Y", "Y"),
    ("XH007", "司前镇爱心驿站", "司前镇新建路5号", "司前镇", "工会自建", 112.8598, 22.4313, "2022-01-12", 8, "yes", "yes", "yes", "yes", "yes", "yes", "yes", "yes"),
    ("XH008", "罗坑镇陈皮村驿站", "罗坑镇陈皮村委会旁", "罗坑镇", "村居", 112.9511, 22.3726, "2022-05-08", 6, "true", "true", "false", "true", "true", "false", "true", "true"),
    ("XH009", "双水镇工业园区驿站", "双水镇工业大道11号", "双水镇", "园区", 113.0013, 22.4041, "2023-02-18", 10, "是", "是", "是", "是", "是", "否", "是", "是"),
    ("XH010", "崖门镇渔港驿站", "崖门镇京背渔港", "崖门镇", "村居", 113.0622, 22.2785, "2023-06-01", 6, "有", "有", "有", "无", "无", "无", "有", "有"),
    ("XH011", "沙堆镇工会驿站", "沙堆镇墟镇大道23号", "沙堆镇", "工会自建", 113.1267, 22.2893, "2022-08-08", 8, "是", "是", "是", "是", "是", "是", "是", "是"),
    ("XH012", "古井镇银行网点驿站", "古井镇古井大道农商银行", "古井镇", "银行网点", 113.0911, 22.3049, "2023-09-09", 4, "是", "是", "是", "是", "是", "否", "是", "是"),
    ("XH013", "三江镇环卫驿站", "三江镇联和路7号", "三江镇", "环卫站点", 113.1012, 22.4327, "2024-03-01", 6, "是", "是", "否", "是", "否", "否", "是", "是"),
    ("XH014", "睦洲镇爱心驿站", "睦洲镇睦洲大道中40号", "睦洲镇", "工会自建", 113.1533, 22.4012, "2024-05-01", 8, "是", "是", "是", "是", "是", "是", "是", "是"),
    ("XH015", "大鳌镇工会驿站", "大鳌镇鳌南路2号", "大鳌镇", "工会自建", 113.2377, 22.4028, "2024-06-20", 6, "是", "是", "是", "是", "否", "是", "是", "否"),
    ("XH016", "今古洲加油站司机之家", "会城街道今古洲大道加油站", "会城街道", "加油站", 113.0611, 22.4807, "2024-08-01", 10, "是", "是", "是", "是", "是", "是", "是", "是"),
    ("XH017", "江门大道快递驿站", "会城街道江门大道南段", "会城街道", "合作商户", 113.0702, 22.4951, "2025-01-10", 6, "是", "是", "是", "是", "是", "是", "是", "是"),
    ("XH018", "新会高铁站网约车驿站", "会城街道新会站停车场", "会城街道", "司机之家", 113.0203, 22.4901, "2025-03-15", 12, "是", "是", "是", "是", "是", "否", "是", "是"),
    ("XH019", "崖门工业园驿站", "崖门镇工业园区", "崖门镇", "园区", 113.0455, 22.3011, "2025-04-28", 8, "是", "是", "是", "否", "是", "是", "是", "是"),
]


def _row(s: tuple, *, lon: float | None = None, lat: float | None = None) -> list[object]:
    gx, gy = wgs84_to_gcj02(s[5], s[6])
    return [s[0], s[1], s[2], s[3], s[4], round(float(gx) if lon is None else lon, 6),
            round(float(gy) if lat is None else lat, 6), s[7], "示例联系人", "0750-0000000",
            "08:00-20:00", s[8], *s[9:17], "示例数据 sample"]


def make_2025(path: Path) -> None:
    """Write the 2025 workbook: title row, 19 stations, and deliberately bad rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "驿站台账"
    ws.append(["江门市新会区工会户外劳动者服务站点台账（2025年，示例数据）"])
    ws.append(HEADER)
    for s in STATIONS:
        ws.append(_row(s))
    bad = list(STATIONS[0])
    # Deliberately bad rows (示例问题行):
    x = _row(("XH020", "缺纬度的驿站", "会城街道某路", "会城街道", "合作商户", 113.03, 22.47, "2025-05-01", 4,
              "是", "是", "是", "是", "是", "是", "是", "是"))
    x[6] = None  # latitude missing -> row not loaded
    ws.append(x)
    x = _row(("XH021", "经纬度填反的驿站", "三江镇某路", "三江镇", "合作商户", 113.11, 22.44, "2025-05-02", 4,
              "是", "是", "是", "是", "是", "是", "是", "是"))
    x[5], x[6] = x[6], x[5]  # swapped -> swapped back with a warning
    ws.append(x)
    x = _row(("XH005", "编号重复的驿站", "大泽镇某路", "大泽镇", "合作商户", 113.015, 22.52, "2025-05-03", 4,
              "是", "有时", "是", "是", "是", "是", "是", "是"))  # duplicate id + unreadable cell
    ws.append(x)
    x = _row(("XH022", "<img src=x onerror=alert(1)>", "=HYPERLINK(\"http://example.com\",\"点我\")", "会城街道",
              "合作商户", 113.036, 22.462, "2025-05-04", 4, "是", "是", "是", "是", "是", "是", "是", "是"))
    ws.append(x)  # markup in the name and a formula in the address: must stay text everywhere
    x = _row(("XH023", "坐标写成文字的驿站", "古井镇某路", "古井镇", "合作商户", 113.09, 22.31, "2025-05-05", 4,
              "是", "是", "是", "是", "是", "是", "是", "是"))
    x[5] = "见地图"
    ws.append(x)
    x = _row(("XH024", "与XH001同址的驿站", *bad[2:]))  # same place as XH001
    ws.append(x)
    wb.save(path)


def make_2024(path: Path) -> None:
    """Write the 2024 workbook: 16 stations, XH016 elsewhere, some amenities still missing."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "驿站台账"
    ws.append(HEADER)
    for s in STATIONS[:16]:
        row = list(s)
        if s[0] == "XH016":  # moved in 2025 by about 600 m
            row[5], row[6] = 113.0555, 22.4781
        if s[0] == "XH002":  # WiFi added in 2025? no: WiFi lost in 2025, it had it in 2024
            row[13] = "有"
        if s[0] == "XH010":  # first-aid kit added in 2025
            row[11] = "无"
        ws.append(_row(tuple(row)))
    ws.append(_row(("XH090", "已撤销的临时驿站", "会城街道临时点", "会城街道", "临时", 113.045, 22.47, "2021-01-01", 4,
                    "是", "是", "是", "是", "否", "否", "是", "是")))
    wb.save(path)


def main() -> int:
    """Write both sample workbooks into ``stations/data``."""
    OUT.mkdir(parents=True, exist_ok=True)
    make_2025(OUT / "sample_inventory_2025.xlsx")
    make_2024(OUT / "sample_inventory_2024.xlsx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
