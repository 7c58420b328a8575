"""Station inventories as a domain: readers, schema, checklists, standards, compliance, diff.

The public entry points::

    from yizhan.stations import read_inventory, diff_inventories, load_standard
    inv = read_inventory("驿站台账.xlsx", crs="gcj02", standard="xinhui-7")
    inv.stations   # GeoDataFrame, EPSG:4326, amenity booleans and compliance columns
    inv.problems   # file, row, field, value, problem, severity, code
"""

from typing import TYPE_CHECKING

from yizhan._lazy import lazy_exports

if TYPE_CHECKING:  # the names, for type checkers; imported on first use at run time
    from yizhan.stations.amenities import AMENITIES, AMENITY_KEYS, amenity_label
    from yizhan.stations.compliance import TIER_LABELS, compliance
    from yizhan.stations.diff import diff_inventories
    from yizhan.stations.inventory import Inventory, read_inventory
    from yizhan.stations.readers import read_table
    from yizhan.stations.standards import BUILTIN_STANDARDS, Standard, load_standard

_EXPORTS = {
    "AMENITIES": "yizhan.stations.amenities",
    "AMENITY_KEYS": "yizhan.stations.amenities",
    "BUILTIN_STANDARDS": "yizhan.stations.standards",
    "Inventory": "yizhan.stations.inventory",
    "Standard": "yizhan.stations.standards",
    "TIER_LABELS": "yizhan.stations.compliance",
    "amenity_label": "yizhan.stations.amenities",
    "compliance": "yizhan.stations.compliance",
    "diff_inventories": "yizhan.stations.diff",
    "load_standard": "yizhan.stations.standards",
    "read_inventory": "yizhan.stations.inventory",
    "read_table": "yizhan.stations.readers",
}

__all__ = [
    "AMENITIES",
    "AMENITY_KEYS",
    "BUILTIN_STANDARDS",
    "TIER_LABELS",
    "Inventory",
    "Standard",
    "amenity_label",
    "compliance",
    "diff_inventories",
    "load_standard",
    "read_inventory",
    "read_table",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
