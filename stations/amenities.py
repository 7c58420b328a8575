"""Amenity keys used everywhere (config, CLI flags, columns) and their Chinese and English names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Amenity:
    """One amenity a station can offer.

    Attributes
    ----------
    key
        Canonical English key, used in configs, CLI flags and column names.
    zh, en
        Labels shown to users (Chinese first).
    aliases
        Header spellings that mean this amenity (normalised with :func:`yizhan.stations.columns.normalize_header`).
    """

    key: str
    zh: str
    en: str
    aliases: tuple[str, ...]


AMENITIES: dict[str, Amenity] = {
    a.key: a
    for a in (
        Amenity("toilet", "洗手间", "toilet",
                ("洗手间", "卫生间", "厕所", "如厕", "公厕", "toilet", "toilets", "restroom", "wc")),
        Amenity("drinking_water", "直饮水", "drinking water",
                ("直饮水", "饮水", "饮用水", "饮水机", "开水", "drinkingwater", "water", "waterdispenser")),
        Amenity("first_aid", "应急药箱", "first-aid kit",
                ("应急药箱", "医药箱", "药箱", "急救箱", "急救包", "应急药品", "firstaid", "firstaidkit",
                 "medicalkit")),
        Amenity("phone_charger", "手机充电", "phone charger",
                ("手机充电", "充电", "充电设施", "充电宝", "phonecharger", "charger", "phonecharging",
                 "charging")),
        Amenity("wifi", "无线网络", "WiFi", ("无线网络", "无线上网", "无线网", "wifi", "wlan")),
        Amenity("microwave", "微波炉", "microwave", ("微波炉", "microwave", "microwaveoven")),
        Amenity("seating", "桌椅", "tables and chairs",
                ("桌椅", "座椅", "桌凳", "休息座椅", "tablesandchairs", "tablechairs", "seating", "seats",
                 "chairs")),
        Amenity("cooling", "纳凉", "cooling",
                ("纳凉", "空调", "降温", "防暑降温", "cooling", "airconditioning", "aircon", "ac")),
        Amenity("heating", "取暖", "heating", ("取暖", "暖气", "供暖", "heating", "heater")),
        Amenity("meal_heating", "餐食加热", "meal heating",
                ("餐食加热", "热饭", "加热餐食", "食物加热", "mealheating", "foodheating")),
        Amenity("shelter", "驱寒避雨", "shelter from cold and rain",
                ("驱寒避雨", "避雨", "遮风避雨", "避寒", "shelter", "rainshelter")),
        Amenity("reading", "读书阅览", "reading corner",
                ("读书阅览", "阅览", "阅读", "书报", "图书", "reading", "books", "library")),
        Amenity("rest", "休息", "rest area",
                ("休息", "歇脚", "休息区", "休息室", "rest", "restarea", "lounge")),
        Amenity("parking", "停车", "parking",
                ("停车", "停车位", "停车场", "parking", "truckparking")),
        Amenity("hot_water", "热水", "hot water", ("热水", "热水供应", "hotwater")),
        Amenity("shower", "淋浴", "shower", ("淋浴", "洗浴", "洗澡", "shower", "showers")),
        Amenity("laundry", "洗衣", "laundry", ("洗衣", "洗衣机", "洗衣房", "laundry", "washingmachine")),
    )
}

AMENITY_KEYS: tuple[str, ...] = tuple(AMENITIES)


def amenity_label(key: str) -> str:
    """Return the bilingual label of an amenity key, e.g. ``"洗手间 toilet"``."""
    a = AMENITIES[key]
    return f"{a.zh} {a.en}"
