"""Untrusted files: archive members cannot escape or inflate without bound, npz cannot unpickle, downloads are hashed."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from rnnlab import fetch
from rnnlab.errors import DataError


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def make_tar(path: Path, entries: dict[str, bytes], symlink: tuple[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink[0])
            info.type, info.linkname = tarfile.SYMTYPE, symlink[1]
            tf.addfile(info)
    return path


def everything(path: PurePosixPath) -> bool:
    return True


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "..\\evil.txt", "C:/evil.txt"])
def test_members_escaping_the_archive_refuse_it_whole(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "a.zip", {"ok.txt": b"fine", name: b"evil"})
    with pytest.raises(DataError, match="points outside the archive's folder; refused, nothing was read"):
        fetch.zip_members(archive)
    tarball = make_tar(tmp_path / "a.tar.gz", {"ok.txt": b"fine", name.replace("\\", "/"): b"evil"})
    with pytest.raises(DataError, match="points outside the archive's folder"):
        list(fetch.tar_members(tarball, everything, "reading"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz", "a.zip"], "something was extracted"


def test_tar_links_are_skipped_and_files_read_in_memory(tmp_path: Path) -> None:
    tarball = make_tar(tmp_path / "c.tar.gz", {"d/x.txt": b"hello", "d/y.bin": b"bye"}, symlink=("d/link", "/etc/passwd"))
    found = list(fetch.tar_members(tarball, lambda p: p.suffix == ".txt", "reading"))
    assert found == [("d/x.txt", b"hello")]


def test_oversized_members_are_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "MAX_MEMBER_BYTES", 1000)
    archive = make_zip(tmp_path / "bomb.zip", {"zeros.txt": b"0" * 5000})
    with pytest.raises(DataError, match="inflates to 5,000 bytes, over rnnlab's limit of 1,000"):
        fetch.zip_members(archive)
    with pytest.raises(DataError, match="inflates to 5,000 bytes"):
        list(fetch.tar_members(make_tar(tmp_path / "bomb.tar.gz", {"z.txt": b"0" * 5000}), everything, "reading"))


def test_corrupt_archives_and_single_member_zips(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK not a zip")
    with pytest.raises(DataError, match="not a readable zip archive"):
        fetch.zip_members(tmp_path / "bad.zip")
    (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match="not a readable .tar.gz"):
        list(fetch.tar_members(tmp_path / "bad.tar.gz", everything, "reading"))
    with pytest.raises(DataError, match="must hold exactly one text file, found 2"):
        fetch.single_member(make_zip(tmp_path / "two.zip", {"a.txt": b"a", "b.txt": b"b"}))
    one = make_zip(tmp_path / "one.zip", {"a.txt": "héllo".encode(), "__MACOSX/._a.txt": b"junk"})
    assert fetch.single_member(one).decode() == "héllo"


def test_npz_is_read_without_pickle(tmp_path: Path) -> None:
    np.savez(tmp_path / "ok.npz", x=np.arange(3))
    assert fetch.load_npz(tmp_path / "ok.npz")["x"].tolist() == [0, 1, 2]
    np.savez(tmp_path / "pickled.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="pickled Python objects"):
        fetch.load_npz(tmp_path / "pickled.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a readable .npz"):
        fetch.load_npz(tmp_path / "bad.npz")


class Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pwned",))


def test_object_arrays_admit_only_numpy_arrays(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([[1, 2], [3]], dtype=object), allow_pickle=True)
    assert [list(r) for r in fetch.npy_array(buffer.getvalue())] == [[1, 2], [3]]
    hostile = io.BytesIO()
    np.lib.format.write_array(hostile, np.array([Boom()], dtype=object), allow_pickle=True)
    with pytest.raises(pickle.UnpicklingError, match="refused builtins.print"):
        fetch.npy_array(hostile.getvalue())


def test_download_is_checked_against_its_hash_and_says_what_to_do_offline(tmp_path: Path) -> None:
    source = tmp_path / "data.txt"
    source.write_text("the data")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    fetched = fetch.download("data.txt", source.as_uri(), digest, offline_fix="set data.path", cache_dir=tmp_path / "cache")
    assert fetched.read_text() == "the data"
    with pytest.raises(
        DataError,
        match=r"other.txt is not cached at .*other.txt and fetching .* failed \(the download does not match its pinned hash",
    ):
        fetch.download("other.txt", source.as_uri(), "0" * 64, offline_fix="set data.path", cache_dir=tmp_path / "cache")
    with pytest.raises(DataError, match=r"fetching file:///nonexistent/x.txt failed .*; set data.path$"):
        fetch.download("x.txt", "file:///nonexistent/x.txt", "0" * 64, offline_fix="set data.path", cache_dir=tmp_path / "cache")
