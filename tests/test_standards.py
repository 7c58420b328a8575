import pytest
from yizhan.stations.standards import BUILTIN_STANDARDS, load_standard

from yizhan.errors import ConfigError, InputFileError


def test_xinhui_seven_items():
    std = load_standard("xinhui-7")
    assert std.required == (
        "toilet", "drinking_water", "first_aid", "phone_charger", "wifi", "microwave", "seating"
    )


def test_acftu_and_drivers_home():
    acftu = load_standard("acftu")
    assert set(acftu.items) >= {"rest", "toilet", "drinking_water", "cooling", "meal_heating", "shelter",
                                "phone_charger", "reading"}
    drivers = load_standard("drivers-home")
    assert set(drivers.required) == {"parking", "rest", "hot_water", "meal_heating", "shower", "laundry"}


def test_every_builtin_loads():
    for name in BUILTIN_STANDARDS:
        std = load_standard(name)
        assert std.name == name
        assert not set(std.required) & set(std.optional)


def test_user_toml_with_chinese_names(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('required = ["洗手间", "drinking_water", "first-aid kit"]\noptional = ["wifi"]\n'
                    "[tiers]\npartial = 0.6\n", encoding="utf-8")
    std = load_standard(path)
    assert std.name == "mine"
    assert std.required == ("toilet", "drinking_water", "first_aid")
    assert std.partial_share == 0.6


def test_unknown_amenity_names_file_and_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('required = ["toilet", "jacuzzi"]\n', encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        load_standard(path)
    assert err.value.file == str(path)
    assert err.value.field == "required"
    assert "jacuzzi" in str(err.value)


def test_unknown_key_and_bad_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('required = ["toilet"]\nrequird = []\n', encoding="utf-8")
    with pytest.raises(InputFileError, match="requird"):
        load_standard(path)
    path.write_text('name = "x"\nrequired = [\n  "toilet"\n  "wifi"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"TOML.*line 4"):  # every TOML file: read_toml
        load_standard(path)


def test_unknown_profile_name():
    with pytest.raises(ConfigError, match="xinhui-7"):
        load_standard("nowhere-9")
