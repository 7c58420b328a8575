"""Reliability: output folders never lose a user's file (issue: safe report folders).

Every case asserts the exact outcome: exit code, message content, no traceback, and the user's
files intact by SHA-256. The bad ``--out`` cases give inputs that do not exist, so a command that
started computing before checking its output would fail with an input error instead.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from collections import namedtuple
from importlib import resources
from pathlib import Path

import pytest
from yizhan.scripts.cli import main

from yizhan import outdir
from yizhan.errors import OutputError
from yizhan.io import sha256_file
from yizhan.outdir import MARKER, check_output, output_files, recover, report_folder

STATIONS = Path(str(resources.files("yizhan.stations") / "data" / "sample_inventory_2025.xlsx"))
HELSINKI = Path(__file__).resolve().parent / "data" / "helsinki"

# Every command with an output location, with inputs that do not exist.
COMMANDS = {
    "run": lambda out: ["run", "missing.toml", "--out", out],
    "demo": lambda out: ["demo", "--out", out],
    "run-many": lambda out: ["run-many", "missing.toml", "--out", out],
    "coverage": lambda out: ["coverage", "--network", "m.graphml", "--stations", "m.csv",
                             "--demand", "m.csv", "--mode", "walk", "--cutoff", "800m",
                             "--out", out],
    "suggest": lambda out: ["suggest", "--network", "m.graphml", "--stations", "m.csv",
                            "--demand", "m.csv", "--mode", "walk", "--cutoff", "800m",
                            "--sites", "2", "--out", out],
    "gaps": lambda out: ["gaps", "--network", "m.graphml", "--stations", "m.csv",
                         "--demand", "m.csv", "--mode", "walk", "--cutoff", "800m",
                         "--out", out],
    "stations check": lambda out: ["stations", "check", "m.csv", "--out", out],
    "stations diff": lambda out: ["stations", "diff", "a.csv", "b.csv", "--out", out],
    "demand build": lambda out: ["demand", "build", "--input", "m.csv", "--out", out],
    "network build --cache": lambda out: ["network", "build", "--graphml", "m.graphml",
                                          "--mode", "walk", "--cache", out],
}


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _bad_out(kind: str, work: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Return (the --out argument, a phrase the error must contain) for one bad location."""
    if kind == "existing file":
        return str(work / "existing.csv"), "existing file"
    if kind == "current folder":
        monkeypatch.chdir(work)
        return ".", "current folder"
    if kind == "under a file":
        return str(work / "existing.csv" / "sub"), "regular file"
    if kind == "user's folder":
        return str(work), "did not write"
    if kind == "read-only":
        if os.geteuid() == 0:  # root writes anywhere a mode allows; sysfs refuses new files
            return "/sys/yizhan-out", "read-only"
        ro = work / "ro"
        ro.mkdir()
        ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return str(ro / "out"), "read-only"
    if kind == "full disk":
        usage = namedtuple("usage", "total used free")
        monkeypatch.setattr(outdir.shutil, "disk_usage", lambda _p: usage(10**9, 10**9, 4096))
        return str(work / "new-report"), "free"
    raise AssertionError(kind)


BAD_KINDS = ["existing file", "current folder", "under a file", "user's folder", "read-only",
             "full disk"]


# A cache folder may hold other files (yizhan only adds files of its own names), so only the
# locations that cannot be a folder at all apply to --cache.
CASES = [(c, k) for c in sorted(COMMANDS) for k in BAD_KINDS
         if not (c == "network build --cache" and k in ("user's folder", "current folder"))]


@pytest.mark.parametrize(("command", "kind"), CASES)
def test_bad_output_location_is_exit_2_before_any_work(command, kind, tmp_path, monkeypatch,
                                                       capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "existing.csv").write_text("id,name\n1,a\n", encoding="utf-8")
    (work / "config.toml").write_text('district = "x"\n', encoding="utf-8")
    (work / "年度总结.docx").write_bytes(b"PK\x03\x04 user's document")
    before = _snapshot(work)
    out, phrase = _bad_out(kind, work, monkeypatch)
    code = main(["-q", *COMMANDS[command](out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert phrase in err
    assert "Traceback" not in err
    # the message is about the output, not the missing inputs: nothing was read or computed
    assert "does not exist" not in err and "not found" not in err.lower()
    assert _snapshot(work) == before


def test_run_into_the_folder_of_its_own_config_keeps_every_file(tmp_path, capsys):
    """`yizhan run work/config.toml --out work` used to replace the folder whole."""
    work = tmp_path / "work"
    work.mkdir()
    config = HELSINKI / "example-config.toml"
    (work / "config.toml").write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
    (work / "stations.csv").write_text("name,lon,lat\na,1,2\n", encoding="utf-8")
    before = _snapshot(work)
    assert main(["-q", "run", str(work / "config.toml"), "--out", str(work)]) == 2
    err = capsys.readouterr().err
    assert str(work) in err and "config.toml" in err and "new output folder" in err
    assert _snapshot(work) == before


def test_network_out_does_not_replace_a_file_yizhan_did_not_write(tmp_path, capsys):
    target = tmp_path / "roads.npz"
    target.write_bytes(b"not a network")
    before = sha256_file(target)
    assert main(["-q", "network", "build", "--graphml", "m.graphml", "--mode", "walk",
                 "--out", str(target)]) == 2
    assert "not written by yizhan" in capsys.readouterr().err
    assert sha256_file(target) == before


def test_output_folders_get_the_users_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["-q", "stations", "check", str(STATIONS), "--crs", "gcj02",
                     "--out", str(tmp_path / "a" / "b")]) == 0
        with report_folder(tmp_path / "report") as tmp:
            (tmp / "summary.json").write_text("{}", encoding="utf-8")
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "report"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
    for file in (tmp_path / "a" / "b" / "problems.csv", tmp_path / "report" / "summary.json"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o644, file


def test_rerun_replaces_own_report_but_not_a_file_the_user_added(tmp_path):
    target = tmp_path / "report"
    with report_folder(target) as tmp:
        (tmp / "summary.json").write_text('{"year": 2024}', encoding="utf-8")
        (tmp / "maps").mkdir()
        (tmp / "maps" / "map.html").write_text("<html>", encoding="utf-8")
    assert json.loads((target / MARKER).read_text(encoding="utf-8"))["files"] == [
        "maps/map.html", "summary.json"]
    with report_folder(target) as tmp:  # a re-run replaces what yizhan wrote
        (tmp / "summary.json").write_text('{"year": 2025}', encoding="utf-8")
    assert (target / "summary.json").read_text(encoding="utf-8") == '{"year": 2025}'
    assert not (target / "maps").exists()

    note = target / "领导批示.txt"
    note.write_text("请在月底前报送", encoding="utf-8")
    with pytest.raises(OutputError, match=r"领导批示\.txt"), report_folder(target) as tmp:
        (tmp / "summary.json").write_text('{"year": 2026}', encoding="utf-8")
    assert note.read_text(encoding="utf-8") == "请在月底前报送"
    assert (target / "summary.json").read_text(encoding="utf-8") == '{"year": 2025}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no staging left


def test_a_user_file_added_during_the_run_is_not_lost(tmp_path):
    target = tmp_path / "report"
    with report_folder(target) as tmp:
        (tmp / "a.csv").write_text("1", encoding="utf-8")
    with pytest.raises(OutputError), report_folder(target) as tmp:
        (target / "mine.txt").write_text("mine", encoding="utf-8")  # while the run computes
        (tmp / "a.csv").write_text("2", encoding="utf-8")
    assert (target / "mine.txt").read_text(encoding="utf-8") == "mine"
    assert (target / "a.csv").read_text(encoding="utf-8") == "1"


def test_commands_share_a_folder_and_keep_other_files(tmp_path):
    out = tmp_path / "out"
    with output_files(out) as tmp:
        (tmp / "coverage.csv").write_text("c1", encoding="utf-8")
    (out / "notes.txt").write_text("mine", encoding="utf-8")  # another name: left alone
    with output_files(out) as tmp:
        (tmp / "suggestions.csv").write_text("s1", encoding="utf-8")
        (tmp / "coverage.csv").write_text("c2", encoding="utf-8")
    assert (out / "coverage.csv").read_text(encoding="utf-8") == "c2"
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    (out / "mine.csv").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match=r"mine\.csv"), output_files(out) as tmp:
        (tmp / "mine.csv").write_text("theirs", encoding="utf-8")
    assert (out / "mine.csv").read_text(encoding="utf-8") == "mine"


_KILL = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from yizhan import outdir
    target, stage = Path(sys.argv[1]), sys.argv[2]
    real = os.replace
    calls = []
    def replace(src, dst):
        calls.append((src, dst))
        if stage == "between renames" and Path(dst).name.startswith("." + target.name):
            real(src, dst)
            os._exit(9)  # killed: no clean-up runs
        return real(src, dst)
    outdir.os.replace = replace
    with outdir.report_folder(target) as tmp:
        (tmp / "summary.json").write_text('{"year": 2025}', encoding="utf-8")
        if stage == "while writing":
            os._exit(9)
""")


@pytest.mark.parametrize(("stage", "expected"), [("between renames", 2025),
                                                 ("while writing", 2024)])
def test_a_killed_swap_is_finished_or_undone_by_the_next_run(tmp_path, stage, expected):
    target = tmp_path / "report"
    with report_folder(target) as tmp:
        (tmp / "summary.json").write_text('{"year": 2024}', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _KILL, str(target), stage],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 9, proc.stderr
    hidden = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert hidden, "the killed run left its staging or old folder"
    if stage == "between renames":
        assert not target.exists()  # the state the old code never recovered from
    check_output(target)  # what every command does first
    assert json.loads((target / "summary.json").read_text(encoding="utf-8")) == {
        "year": expected}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_recover_leaves_folders_it_did_not_make(tmp_path):
    target = tmp_path / "report"
    target.mkdir()
    lookalike = tmp_path / ".report.yizhan-old-users"
    lookalike.mkdir()
    (lookalike / "keep.txt").write_text("mine", encoding="utf-8")
    assert recover(target) == []
    assert (lookalike / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_disk_full_while_writing_keeps_the_old_report(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert main(["-q", "stations", "check", str(STATIONS), "--crs", "gcj02",
                 "--out", str(out)]) == 0
    before = _snapshot(out)

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")  # ENOSPC from the file system

    monkeypatch.setattr("yizhan.stations.output.write_csv_atomic", full)
    assert main(["-q", "stations", "check", str(STATIONS), "--crs", "gcj02",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "disk is full" in err and "Traceback" not in err
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_run_many_force_does_not_replace_a_district_folder_holding_a_user_file(tmp_path,
                                                                               capsys):
    from yizhan.pipeline.province import load_plan

    spec = HELSINKI / "example-province.toml"
    out = tmp_path / "province"
    plan = load_plan(spec, out)
    outdir.record_files(out, [f"configs/{job.slug}.toml" for job in plan.jobs],
                        kind="province")
    slug = plan.jobs[0].slug
    with report_folder(out / "districts" / slug) as tmp:
        (tmp / "summary.json").write_text("{}", encoding="utf-8")
    note = out / "districts" / slug / "说明.docx"
    note.write_bytes(b"user's notes")
    code = main(["-q", "run-many", str(spec), "--out", str(out), "--force", "--workers", "1",
                 "--no-dashboard"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "说明.docx" in err and "Traceback" not in err
    assert note.read_bytes() == b"user's notes"


def test_a_report_an_older_yizhan_left_hidden_is_put_back(tmp_path):
    """yizhan 0.1 killed between its two renames left the report as .NAME.old.XXXXXXXX."""
    hidden = tmp_path / ".report.old.k2j4h5g6"
    hidden.mkdir()
    (hidden / "summary.json").write_text('{"year": 2024}', encoding="utf-8")
    # Put back under its name; it carries no marker, so it is the user's now: not replaced.
    with pytest.raises(OutputError, match="summary"):
        check_output(tmp_path / "report")
    assert (tmp_path / "report" / "summary.json").read_text(encoding="utf-8") == '{"year": 2024}'
    assert not hidden.exists()


def test_stale_scratch_of_an_older_demo_is_removed(tmp_path, monkeypatch):
    from yizhan.scripts import cmd_demo

    monkeypatch.setattr(cmd_demo.tempfile, "gettempdir", lambda: str(tmp_path))
    stale = tmp_path / "yizhan-demo-abc123"
    (stale / "previous").mkdir(parents=True)
    (stale / "previous" / "summary.json").write_text("{}", encoding="utf-8")
    os.utime(stale, (0, 0))
    other = tmp_path / "yizhan-demo-mine"  # holds something else: not the demo's
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    os.utime(other, (0, 0))
    fresh = tmp_path / "yizhan-demo-running"  # a demo running now
    (fresh / "previous").mkdir(parents=True)
    assert cmd_demo.remove_stale_demo_scratch() == [stale]
    assert other.exists() and fresh.exists()
