import pytest
from yizhan.stations.columns import canonical_name, find_column, map_columns, normalize_header


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("站点名称", "name"), ("名称", "name"), ("name", "name"), ("Name", "name"),
        ("地址", "address"), ("address", "address"),
        ("经度", "lon"), ("lng", "lon"), ("lon", "lon"), ("Longitude", "lon"), ("经度(GCJ-02)", "lon"),
        ("纬度", "lat"), ("lat", "lat"), ("LATITUDE", "lat"), ("纬度（高德）", "lat"),
        ("所属镇街", "town"), ("town", "town"), ("类型", "type"), ("type", "type"),
        ("建成时间", "opened"), ("opened", "opened"), ("联系人", "manager"), ("manager", "manager"),
        ("电话", "phone"), ("联系电话", "phone"), ("phone", "phone"), ("开放时间", "hours"),
        ("hours", "hours"), ("站点编号", "station_id"), ("station_id", "station_id"),
        ("座位数", "capacity"),
        ("洗手间", "toilet"), ("是否有洗手间", "toilet"), ("卫生间（有/无）", "toilet"), ("Toilet", "toilet"),
        ("直饮水", "drinking_water"), ("drinking water", "drinking_water"),
        ("应急药箱", "first_aid"), ("First-aid kit", "first_aid"), ("手机充电", "phone_charger"),
        ("无线网络", "wifi"), ("Wi-Fi", "wifi"), ("微波炉", "microwave"), ("桌椅", "seating"),
        ("tables and chairs", "seating"), ("纳凉", "cooling"), ("餐食加热", "meal_heating"),
        ("驱寒避雨", "shelter"), ("读书阅览", "reading"), ("休息", "rest"), ("停车", "parking"),
        ("热水", "hot_water"), ("淋浴", "shower"), ("洗衣", "laundry"), ("取暖", "heating"),
    ],
)
def test_header_variants_map_to_canonical(header, key):
    assert canonical_name(header) == key


def test_unknown_headers_are_not_mapped():
    assert canonical_name("备注") is None
    assert map_columns(["备注", "经度"]) == {"经度": "lon"}


def test_first_of_two_synonyms_wins():
    assert map_columns(["经度", "lng", "纬度"]) == {"经度": "lon", "纬度": "lat"}


def test_find_column_for_demand_fields():
    assert find_column(["Lng", "Lat", "人数"], "weight") == "人数"
    assert find_column(["Lng", "Lat"], "lon") == "Lng"
    assert find_column(["a"], "lon") is None


def test_normalize_header():
    assert normalize_header(" Drinking_Water ") == "drinkingwater"
    assert normalize_header("经度（GCJ-02）") == "经度"
