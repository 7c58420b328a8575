"""Exceptions a user can cause, each a subclass of a built-in so callers catch what they mean."""

from __future__ import annotations


class YizhanError(Exception):
    """Base class of every error yizhan raises on purpose."""


class InputFileError(YizhanError, ValueError):
    """An input file cannot be used; the message names the file, row, field and the fix.

    Parameters
    ----------
    message
        What is wrong and what would fix it, bilingual (Chinese first).
    file
        The file the user gave.
    row
        Row as the user sees it in Excel (header = row 1), if the problem is in one row.
    field
        Column name as it appears in the file, if the problem is in one field.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.field = field
        where = ", ".join(
            part
            for part in (
                f"文件 file {file}" if file else "",
                f"行 row {row}" if row is not None else "",
                f"字段 field {field!r}" if field else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(YizhanError, ValueError):
    """A configuration value (CLI flag, TOML key, standard profile) is invalid."""


class NetworkError(YizhanError, ValueError):
    """A road network cannot be built or used (no roads in the area, bad source file)."""


class OutputError(YizhanError, ValueError):
    """An output location cannot or must not be written.

    For example an existing file, a folder of the user's own files, a read-only place or a
    full disk.

    Parameters
    ----------
    message
        What is wrong and what would fix it, bilingual (Chinese first).
    path
        The output location the user gave.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)
