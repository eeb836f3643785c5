"""Untrusted files: archives cannot write outside their folder, npz cannot unpickle, downloads are hashed."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnlab.archives import extract_tar, extract_zip, load_npz, read_zip_text, verified_download
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


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "..\\evil.txt"])
def test_zip_entries_escaping_the_target_are_refused(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "a.zip", {"ok.txt": b"fine", name: b"evil"})
    with pytest.raises(DataError, match="outside the target folder"):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out").exists()


def test_tar_escapes_and_links_out_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="outside the target folder"):
        extract_tar(make_tar(tmp_path / "a.tar.gz", {"../evil.txt": b"x"}), tmp_path / "out")
    with pytest.raises(DataError, match="refusing this archive"):
        extract_tar(make_tar(tmp_path / "b.tar.gz", {}, symlink=("link", "/etc/passwd")), tmp_path / "out2")
    good = extract_tar(make_tar(tmp_path / "c.tar.gz", {"d/x.txt": b"hello"}), tmp_path / "out3")
    assert [p.read_text() for p in good] == ["hello"]


def test_corrupt_archives_and_zip_contents(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK not a zip")
    with pytest.raises(DataError, match="not a readable zip file"):
        extract_zip(tmp_path / "bad.zip", tmp_path / "out")
    (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match="not a readable tar file"):
        extract_tar(tmp_path / "bad.tar.gz", tmp_path / "out")
    with pytest.raises(DataError, match="expected exactly one text file inside, found 2"):
        read_zip_text(make_zip(tmp_path / "two.zip", {"a.txt": b"a", "b.txt": b"b"}))
    with pytest.raises(DataError, match="not UTF-8"):
        read_zip_text(make_zip(tmp_path / "latin.zip", {"a.txt": "é".encode("latin-1")}))
    assert read_zip_text(make_zip(tmp_path / "one.zip", {"a.txt": "héllo".encode()})) == "héllo"


def test_npz_is_read_without_pickle(tmp_path: Path) -> None:
    np.savez(tmp_path / "ok.npz", x=np.arange(3))
    assert load_npz(tmp_path / "ok.npz")["x"].tolist() == [0, 1, 2]
    np.savez(tmp_path / "pickled.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="pickled Python objects"):
        load_npz(tmp_path / "pickled.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(tmp_path / "bad.npz")


def test_download_is_checked_against_its_sha256(tmp_path: Path) -> None:
    source = tmp_path / "data.txt"
    source.write_text("the data")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    fetched = verified_download(source.as_uri(), digest, name="data.txt", cache_dir=tmp_path / "cache")
    assert fetched.read_text() == "the data"
    with pytest.raises(DataError, match="does not match its sha256"):
        verified_download(source.as_uri(), "0" * 64, name="other.txt", cache_dir=tmp_path / "cache")
