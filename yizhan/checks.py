"""Range checks for numeric options: one wording for every CLI flag and config key."""

from __future__ import annotations

import math

from yizhan.errors import ConfigError

__all__ = ["check_number"]


def check_number(
    value: object, *, option: str, where: str | None = None, minimum: float = 0.0,
    inclusive: bool = False, integer: bool = False,
) -> float:
    """Return ``value`` as a float after checking it is a finite number above ``minimum``.

    Parameters
    ----------
    value
        The option's value as given.
    option
        Its name as the user wrote it (``--move-threshold``, ``[siting] time_limit``).
    where
        The file it came from, or the command line.
    minimum, inclusive
        The value must be ``> minimum`` (``>=`` when ``inclusive``).
    integer
        The value must also be a whole number.

    Raises
    ------
    ConfigError
        Naming the option, where it came from, the value and the allowed range.
    """
    place = f"{where}: " if where else ""
    sign = "≥" if inclusive else ">"
    kind_zh, kind_en = ("整数", "whole number") if integer else ("有限数字", "finite number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    ok = (not isinstance(value, bool) and math.isfinite(number)
          and (number >= minimum if inclusive else number > minimum)
          and (not integer or number.is_integer()))
    if not ok:
        raise ConfigError(
            f"{place}{option} 须为{sign} {minimum:g} 的{kind_zh}，现为 {value!r}。"
            f" {place}{option} must be a {kind_en} {sign} {minimum:g}; got {value!r}."
        )
    return number
