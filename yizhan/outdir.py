"""Output folders that never lose a user's file.

yizhan writes every result into a folder given by ``--out``. The rules, the same for every
command:

- A folder is used only if it does not exist yet, is empty, or carries yizhan's marker file
  :data:`MARKER` (``.yizhan-output.json``), which lists every file yizhan wrote there. Any other
  folder is refused with an error that names it and says what to do (give a new folder name).
- yizhan never deletes, renames or overwrites a file it did not write: a file in the folder that
  the marker does not list (a user's note, a copied inventory) stops a run that would replace
  it, before any computation.
- ``--out`` is checked before any computation: an existing file, the current folder (``.``) or
  one of its parents, a path under a regular file, a read-only place or a nearly full disk is an
  :class:`~yizhan.errors.OutputError` (exit code 2).
- A report folder (:func:`report_folder`) is written into a hidden staging folder beside it and
  swapped in with two renames (old → ``.NAME.yizhan-old-*``, new → ``NAME``), so readers never see
  half a report. A run killed between the two renames leaves a complete old or new folder
  beside it; the next run on the same ``--out`` (or :func:`recover`) finishes the swap, or puts
  the old folder back, and removes what the interrupted run left.
- Commands that write a few tables (:func:`output_files`) stage them the same way and move each
  file into place atomically; files other yizhan commands wrote there are kept, so
  ``coverage`` and ``suggest`` can share one folder.
- Folders are created with the user's normal permissions (``0777`` less the umask), so
  colleagues on a shared server can open the report.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from yizhan import __version__, log
from yizhan.errors import OutputError
from yizhan.io import TEMP_PREFIX

__all__ = [
    "MARKER",
    "MIN_FREE_BYTES",
    "check_folder_writable",
    "check_output",
    "check_output_file",
    "mark_folder",
    "output_files",
    "record_files",
    "recover",
    "report_folder",
    "written_files",
    "written_summary",
]

#: Name of the marker file yizhan writes into every folder it writes results to.
MARKER = ".yizhan-output.json"

#: Less free space than this at the output location is refused before any computation.
MIN_FREE_BYTES = 64 * 1024 * 1024


_NEW = ".yizhan-new-"
_OLD = ".yizhan-old-"
_WAY_OUT = ("请换一个新的输出目录名（例如在原名后加上年份），yizhan 会新建它。"
            " Give a new output folder name (for example add the year); yizhan creates it.")


# --------------------------------------------------------------------------------------------
# Marker


def written_files(folder: str | os.PathLike[str]) -> frozenset[str] | None:
    """Return the files (relative POSIX paths) yizhan wrote in ``folder``, or None if unmarked."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return frozenset(files)


def mark_folder(
    folder: str | os.PathLike[str], files: Iterable[str], *, kind: str = "report"
) -> Path:
    """Write ``folder``'s marker listing ``files`` (relative paths) atomically; return its path.

    The marker has no timestamp, so the same outputs give the same bytes.
    """
    folder = Path(folder)
    body = {"written_by": "yizhan", "version": __version__, "kind": kind,
            "files": sorted({f for f in files if f != MARKER})}
    text = json.dumps(body, ensure_ascii=False, indent=1) + "\n"
    tmp = folder / f"{TEMP_PREFIX}{MARKER}.{secrets.token_hex(4)}"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / MARKER)
    return folder / MARKER


def record_files(
    folder: str | os.PathLike[str], names: Iterable[str], *, kind: str = "outputs"
) -> frozenset[str]:
    """Add ``names`` to the marker of ``folder`` (created if needed) before writing them.

    Listing a name first means an interrupted run never leaves a file yizhan wrote unlisted (a
    listed name that is missing is harmless). Returns the names now listed.

    Raises
    ------
    OutputError
        If one of ``names`` exists in ``folder`` but yizhan did not write it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    known = written_files(folder) or frozenset()
    names = set(names)
    clash = sorted(n for n in names - known if (folder / n).exists())
    if clash:
        raise OutputError(
            f"{folder} 中已有同名文件（{_names(clash)}）不是 yizhan 写的，yizhan 不会覆盖它们。"
            f" {folder} already holds files of the same names that yizhan did not write"
            f" ({_names(clash)}); yizhan will not overwrite them. " + _WAY_OUT,
            path=str(folder),
        )
    if names <= known:
        return known
    mark_folder(folder, known | names, kind=kind)
    return known | names


def written_summary(folder: str | os.PathLike[str]) -> str:
    """Return the line that tells the user what yizhan wrote in ``folder``, for the console.

    ``"DIR/ map.html, report.xlsx, ..., configs/ (3 个文件 files)"``: the files the folder's
    marker records (never the user's own files beside them), a subfolder as one entry, and
    the report folders yizhan wrote inside it (the districts of a province run).
    """
    root = Path(folder)
    files = written_files(root) or frozenset()
    top: dict[str, int] = {}
    for name in files:
        head, sep, _ = name.partition("/")
        key = head + sep
        top[key] = top.get(key, 0) + 1
    items = [f"{k} ({n} 个文件 files)" if k.endswith("/") else k for k, n in sorted(top.items())]
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and p.name + "/" not in top):
        reports = sum(1 for d in sub.iterdir() if (d / MARKER).is_file())
        if reports:
            items.append(f"{sub.name}/ ({reports} 个报告文件夹 report folders)")
    return f"{root}/ " + ", ".join(items)


def _files_in(folder: Path) -> list[str]:
    """Return every file under ``folder`` (relative POSIX paths), nested marked folders skipped."""
    out: list[str] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        # A nested folder with its own marker (a district of a province run) answers for itself.
        dirs[:] = sorted(d for d in dirs if not (here / d / MARKER).is_file())
        out.extend((here / f).relative_to(folder).as_posix() for f in sorted(files))
    return [f for f in out if f != MARKER]


def _foreign(folder: Path, known: frozenset[str]) -> list[str]:
    return [f for f in _files_in(folder)
            if f not in known and not Path(f).name.startswith(TEMP_PREFIX)]


# --------------------------------------------------------------------------------------------
# Checks before any computation


def check_output(
    path: str | os.PathLike[str], *, replace: bool = True, names: Iterable[str] = (),
) -> Path:
    """Return ``path`` resolved, after checking that yizhan may write its results there.

    Run this before any computation. It also finishes or undoes a swap an interrupted run
    left (:func:`recover`).

    Parameters
    ----------
    path
        The ``--out`` folder.
    replace
        True if the whole folder will be replaced (:func:`report_folder`): every file in an
        existing folder must be one yizhan wrote. False for :func:`output_files`, which only
        replaces the files it writes (``names``).
    names
        The files (relative paths) the command will write, if known.

    Raises
    ------
    OutputError
        If the folder cannot or must not be written (see the module docstring).
    """
    raw = Path(path).expanduser()
    target = raw.resolve()
    _check_location(raw, target)
    recover(target)
    _check_contents(raw, target, replace=replace, names=names)
    _check_writable(raw, target)
    return target


def _check_contents(raw: Path, target: Path, *, replace: bool, names: Iterable[str]) -> None:
    if target.is_dir():
        known = written_files(target)
        if known is None:
            entries = sorted(p.name for p in target.iterdir())
            if entries:
                raise OutputError(
                    f"输出目录 {raw} 已有不是 yizhan 写的文件（{_names(entries)}），"
                    "yizhan 不会删除或覆盖它们。"
                    f" The output folder {raw} already holds files yizhan did not write"
                    f" ({_names(entries)}); yizhan never deletes or overwrites them. " + _WAY_OUT,
                    path=str(raw),
                )
        else:
            foreign = _foreign(target, known)
            if not replace:
                wanted = set(names)
                foreign = [f for f in foreign if f in wanted]
            if foreign:
                raise OutputError(
                    f"输出目录 {raw} 中有 yizhan 之后放进去的文件（{_names(foreign)}），"
                    "重新输出会替换整个目录，yizhan 不会删除它们。请把这些文件移走，或换一个新的输出目录名。"
                    f" The output folder {raw} holds files yizhan did not write"
                    f" ({_names(foreign)}); writing the new results would replace them. Move"
                    " them elsewhere, or give a new output folder name.",
                    path=str(raw),
                )


def _names(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" … (+{len(items) - limit})" if len(items) > limit else "")


def _check_location(raw: Path, target: Path, *, own_folder: bool = True) -> None:
    cwd = Path.cwd().resolve()
    if own_folder and (target == cwd or target in cwd.parents):
        raise OutputError(
            f"不能把当前目录（或它的上级目录）{raw} 当作输出目录：那里是你自己的文件。"
            f" The output folder {raw} is the current folder or one of its parents, where your"
            " own files are; yizhan writes results into a folder of their own, for example"
            " --out yizhan-out.",
            path=str(raw),
        )
    for place in (*reversed(target.parents), target):
        if place.exists() and not place.is_dir():
            if place == target:
                raise OutputError(
                    f"输出位置 {raw} 是一个已有的文件，不是目录；yizhan 不会覆盖它。"
                    f" The output location {raw} is an existing file, not a folder; yizhan will"
                    " not overwrite it. " + _WAY_OUT,
                    path=str(raw),
                )
            raise OutputError(
                f"输出目录 {raw} 位于文件 {place} 之下，无法创建。"
                f" The output folder {raw} lies under the regular file {place}; it cannot be"
                " created. Give a folder path.",
                path=str(raw),
            )


def _check_writable(raw: Path, target: Path) -> None:
    base = target
    while not base.exists():
        base = base.parent
    try:
        fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX + "probe.", dir=base)
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        raise OutputError(
            f"无法在 {base} 中写入（{exc.strerror}）：只读位置或没有写权限。"
            f" Cannot write in {base} ({exc.strerror}): the place is read-only or you lack"
            " permission. Give an output folder in a place you can write to.",
            path=str(raw),
        ) from exc
    free = shutil.disk_usage(base).free
    if free < MIN_FREE_BYTES:
        raise OutputError(
            f"{base} 所在磁盘只剩 {free / 2**20:.1f} MB，放不下报告（至少需要"
            f" {MIN_FREE_BYTES / 2**20:.0f} MB）。请清理磁盘或换一个输出位置。"
            f" The disk of {base} has only {free / 2**20:.1f} MB free, too little for the report"
            f" (at least {MIN_FREE_BYTES / 2**20:.0f} MB). Free some space or write elsewhere.",
            path=str(raw),
        )


def check_output_file(
    path: str | os.PathLike[str], *, ours: Callable[[Path], bool] | None = None,
) -> Path:
    """Return ``path`` resolved, after checking that yizhan may write one file there.

    An existing file is replaced only if ``ours(path)`` says yizhan wrote it (a saved network,
    for example); a folder, a path under a regular file or a read-only place is refused.

    Raises
    ------
    OutputError
        If the file cannot or must not be written.
    """
    raw = Path(path).expanduser()
    target = raw.resolve()
    if target.is_dir():
        raise OutputError(
            f"输出位置 {raw} 是一个目录，请给出文件名（例如 {raw / 'network.npz'}）。"
            f" The output location {raw} is a folder; give a file name (for example"
            f" {raw / 'network.npz'}).",
            path=str(raw),
        )
    for place in target.parents:
        if place.exists() and not place.is_dir():
            raise OutputError(
                f"输出文件 {raw} 位于文件 {place} 之下，无法创建。"
                f" The output file {raw} lies under the regular file {place}; it cannot be"
                " created. Give a path in a folder.",
                path=str(raw),
            )
    if target.exists() and (ours is None or not ours(target)):
        raise OutputError(
            f"文件 {raw} 已存在且不是 yizhan 写的，yizhan 不会覆盖它。请换一个文件名。"
            f" The file {raw} exists and was not written by yizhan; yizhan will not overwrite"
            " it. Give a new file name.",
            path=str(raw),
        )
    _check_writable(raw, target.parent)
    return target


def check_folder_writable(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` resolved after checking a folder yizhan keeps files in (a cache) is usable.

    Unlike an output folder it may hold other files: yizhan only adds files with names of its
    own there.
    """
    raw = Path(path).expanduser()
    target = raw.resolve()
    _check_location(raw, target, own_folder=False)
    _check_writable(raw, target)
    return target


# --------------------------------------------------------------------------------------------
# Recovery of interrupted runs


def _siblings(target: Path, kind: str) -> list[Path]:
    parent = target.parent
    if not parent.is_dir():
        return []
    prefix = f".{target.name}{kind}"
    return sorted(p for p in parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


_WRITING = ".yizhan-writing"


def _staging_complete(folder: Path) -> bool:
    return written_files(folder) is not None and not (folder / _WRITING).exists()


def _in_use(folder: Path) -> bool:
    """Return True if a running yizhan process on this machine is still writing ``folder``."""
    try:
        pid_text, host = (folder / _WRITING).read_text(encoding="utf-8").split("\n")[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True  # another machine's run: never touch it
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _legacy_old(target: Path) -> Path | None:
    """Return the report folder yizhan 0.1 moved aside (``.NAME.old.XXXXXXXX``) and never put back.

    Versions before the marker replaced a report with two renames and no recovery; a run killed
    between them left the whole previous report hidden under this name.
    """
    parent = target.parent
    if not parent.is_dir():
        return None
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.old\.[a-z0-9_]{{8}}$")
    found = sorted(p for p in parent.iterdir()
                   if pattern.match(p.name) and (p / "summary.json").is_file())
    return found[-1] if found else None


def recover(path: str | os.PathLike[str]) -> list[str]:
    """Finish or undo a report swap an interrupted run left at ``path``; return what was done.

    - ``path`` missing and a complete new folder beside it: the new folder is put in place.
    - ``path`` missing and only the old folder beside it: the old folder is put back.
    - Then every leftover staging or old folder of ``path`` that yizhan made (it carries the
      marker or the in-progress flag) is removed, and so are yizhan's temporary files inside
      a marked ``path``. Folders that do not carry yizhan's marks are left alone.
    """
    target = Path(path)
    done: list[str] = []
    new = _siblings(target, _NEW)
    old = _siblings(target, _OLD)
    if not target.exists():
        complete = [p for p in new if _staging_complete(p)]
        previous = [p for p in old if written_files(p) is not None]
        source = complete[-1] if complete else previous[-1] if previous else None
        if source is None:
            source = _legacy_old(target)
        if source is not None:
            os.replace(source, target)
            done.append(f"恢复 restored {target} from {source.name}")
    for leftover in (*new, *old):
        if not leftover.exists() or _in_use(leftover):
            continue
        ours = written_files(leftover) is not None or (leftover / _WRITING).exists()
        if ours or not any(leftover.iterdir()):
            shutil.rmtree(leftover, ignore_errors=True)
            done.append(f"清理 removed {leftover.name}")
    if target.is_dir() and written_files(target) is not None:
        for tmp in target.rglob(TEMP_PREFIX + "*"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
            elif tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
    for line in done:
        log.warn(f"上次运行被中断 an interrupted run was tidied up: {line}")
    return done


# --------------------------------------------------------------------------------------------
# Writing


def _make_staging(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        staging = target.parent / f".{target.name}{_NEW}{secrets.token_hex(4)}"
        try:
            staging.mkdir()  # the umask applies (mkdtemp would give 0700)
        except FileExistsError:
            continue
        (staging / _WRITING).write_text(f"{os.getpid()}\n{socket.gethostname()}\n",
                                        encoding="utf-8")
        return staging


@contextlib.contextmanager
def report_folder(path: str | os.PathLike[str], *, kind: str = "report") -> Iterator[Path]:
    """Yield a staging folder; on success it replaces the report folder ``path`` whole.

    Call :func:`check_output` first (before computing). The swap is two renames; an
    interrupted one is finished or undone by the next :func:`recover`. Files a user put in
    ``path`` since yizhan wrote it stop the swap (:class:`OutputError`), they are never lost.
    """
    target = Path(path).resolve()
    check_output(target)
    staging = _make_staging(target)
    try:
        yield staging
        files = _files_in(staging)
        files = [f for f in files if f != _WRITING]
        mark_folder(staging, files, kind=kind)
        (staging / _WRITING).unlink()
        # Re-check just before the swap: a file added meanwhile must not be lost.
        if target.exists():
            _check_contents(target, target, replace=True, names=())
            old = target.parent / f".{target.name}{_OLD}{secrets.token_hex(4)}"
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def output_files(path: str | os.PathLike[str], *, kind: str = "outputs") -> Iterator[Path]:
    """Yield a staging folder whose files are moved into ``path`` one by one on success.

    Files already in ``path`` that yizhan wrote are replaced when the new run writes the same
    name and kept otherwise; a same-named file yizhan did not write stops the run
    (:class:`OutputError`) before anything is moved.
    """
    target = Path(path).resolve()
    check_output(target, replace=False)
    staging = _make_staging(target)
    try:
        yield staging
        files = [f for f in _files_in(staging) if f != _WRITING]
        record_files(target, files, kind=kind)
        for rel in files:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def is_disk_full(exc: BaseException) -> bool:
    """Return True if ``exc`` is the operating system saying the disk or quota is full."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
