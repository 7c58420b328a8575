"""Aligned, memory-mapped ``.npz`` files (network caches) and atomic writes."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from yizhan.io import NPZ_ALIGN, read_npz, write_npz_aligned


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "a": rng.random(1001),
        "b": np.arange(17, dtype=np.int32),
        "c": rng.random((33, 2)),
        "names": np.array(["walk", "高速"]),
        "meta": np.array('{"k": 1}'),
        "empty": np.zeros(0, dtype=np.int64),
        "flags": rng.random(9) < 0.5,
    }


def test_aligned_npz_is_a_plain_npz_with_aligned_array_data(tmp_path):
    path = tmp_path / "x.npz"
    with open(path, "wb") as fh:
        write_npz_aligned(fh, _arrays())
    with np.load(path) as data:  # any numpy reads it
        for name, arr in _arrays().items():
            assert np.array_equal(data[name], arr), name
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            n_name = int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little")
            n_extra = int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30],
                                     "little")
            start = info.header_offset + 30 + n_name + n_extra
            assert start % NPZ_ALIGN == 0, info.filename
            assert raw[start:start + 6] == b"\x93NUMPY"


def test_aligned_npz_bytes_depend_only_on_the_arrays(tmp_path):
    paths = [tmp_path / "1.npz", tmp_path / "2.npz"]
    for p in paths:
        with open(p, "wb") as fh:
            write_npz_aligned(fh, _arrays())
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_read_npz_maps_aligned_members_read_only(tmp_path):
    path = tmp_path / "x.npz"
    with open(path, "wb") as fh:
        write_npz_aligned(fh, _arrays())
    got = read_npz(path)
    assert set(got) == set(_arrays())
    for name, arr in _arrays().items():
        assert np.array_equal(got[name], arr) and got[name].dtype == arr.dtype, name
    assert not got["a"].flags.writeable and not got["c"].flags.writeable  # views of the map
    assert got["a"].flags.aligned
    with pytest.raises(ValueError, match="read-only"):
        got["a"][0] = 1.0
    copied = read_npz(path, mmap=False)
    assert copied["a"].flags.writeable and np.array_equal(copied["a"], got["a"])


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_read_npz_reads_ordinary_npz_files(tmp_path, save):
    path = tmp_path / "plain.npz"
    save(path, **_arrays())
    got = read_npz(path)
    for name, arr in _arrays().items():
        assert np.array_equal(got[name], arr), name


def test_read_npz_refuses_pickles_and_non_zip_files(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        read_npz(path)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(zipfile.BadZipFile):
        read_npz(bad)


def test_a_warning_is_said_once_per_run(caplog) -> None:
    from yizhan import log

    with caplog.at_level("WARNING", logger="yizhan"):
        for _ in range(4):
            log.warn("同一原因 the same cause")
        log.warn("另一原因 another cause")
        log.new_run()
        log.warn("同一原因 the same cause")
    said = [r.getMessage() for r in caplog.records]
    assert said == ["同一原因 the same cause", "另一原因 another cause", "同一原因 the same cause"]
