"""Progress for downloads, extraction and data preparation: drawn on a terminal, silent elsewhere."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from rnnlab import progress
from rnnlab.errors import DataError


def make_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_track_yields_everything_and_is_silent_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress.track(range(5), "Tokenizing")) == [0, 1, 2, 3, 4]
    assert capsys.readouterr() == ("", "")


def test_bar_goes_to_stderr_when_shown(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "shown", lambda quiet=False: not quiet)
    assert list(progress.track(["a", "b", "c"], "Tokenizing reviews")) == ["a", "b", "c"]
    out, err = capsys.readouterr()
    assert out == "" and "Tokenizing reviews" in err and "3/3" in err
    with progress.task("Reading corpus", total=None, quiet=True) as advance:
        advance(10)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_extract_unpacks_atomically_and_reuses_the_result(tmp_path: Path, kind: str) -> None:
    members = {"aclImdb/train/pos/1.txt": b"great", "aclImdb/README": b"readme"}
    if kind == "tar":
        archive = make_tar(tmp_path / "data.tar.gz", members)
    else:
        archive = tmp_path / "data.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
    target = progress.extract(archive, tmp_path / "out")
    assert (target / "aclImdb" / "train" / "pos" / "1.txt").read_bytes() == b"great"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([archive.name, "out"]), "staging folder left behind"
    archive.write_bytes(b"now broken")
    assert progress.extract(archive, tmp_path / "out") == target


def test_extract_refuses_escaping_paths_and_non_archives(tmp_path: Path) -> None:
    evil = make_tar(tmp_path / "evil.tar.gz", {"../outside.txt": b"x"})
    with pytest.raises(DataError, match="cannot extract it"):
        progress.extract(evil, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path / "out").exists()
    (tmp_path / "plain.txt").write_text("hello")
    with pytest.raises(DataError, match="not a .tar"):
        progress.extract(tmp_path / "plain.txt", tmp_path / "out2")


def test_fetch_downloads_checks_the_hash_and_extracts(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "corpus.tar.gz", {"corpus/lyrics.txt": "窗外的麻雀".encode()})
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    folder = progress.fetch(archive.as_uri(), "corpus.tar.gz", file_hash=digest, cache_dir=cache, extract_to="corpus_x")
    assert (folder / "corpus" / "lyrics.txt").read_text(encoding="utf-8") == "窗外的麻雀"
    with pytest.raises(DataError, match="cannot download"):
        progress.fetch(archive.as_uri(), "other.tar.gz", file_hash="0" * 64, cache_dir=cache)


def forced_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """stderr (pytest's capture) passes for a terminal: what a person watching would see."""
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)


def test_imdb_reading_and_tokenizing_show_progress_only_when_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rnnlab.datasets import imdb
    from tests.test_imdb import tarball, write_acl_tree

    tree = write_acl_tree(tmp_path / "tree", per_class=600)
    options = imdb.Options(source="directory", path=str(tmp_path / "tree"), num_words=50, maxlen=20)
    archive = imdb.Options(source="directory", path=str(tarball(tree, tmp_path / "acl.tar.gz")), num_words=50, maxlen=20)

    def prepare() -> None:
        imdb.load(options, seed=0, validation_split=0.0)
        imdb.read_directory(archive)

    prepare()
    assert capsys.readouterr() == ("", ""), "progress drawn off a terminal"
    forced_on(monkeypatch)
    prepare()
    out, err = capsys.readouterr()
    assert out == ""
    for step in ("Reading train/pos reviews", "600/600", "Learning the vocabulary", "Tokenizing 1,200 reviews", "Reading acl.tar.gz"):
        assert step in err, step
    monkeypatch.setenv(progress.QUIET_ENV, "1")
    prepare()
    assert capsys.readouterr() == ("", ""), "RNNLAB_QUIET=1 ignored"


@pytest.mark.parametrize("dataset", ["imdb", "lyrics"])
def test_downloads_show_keras_bar_only_when_shown(
    dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The loaders' own ``get_file`` calls: Keras's download bar on a terminal, silent in a pipe."""
    import keras

    from rnnlab.datasets import imdb, lyrics

    source = tmp_path / "origin" / "file.bin"
    source.parent.mkdir()
    source.write_bytes(b"not really data" * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(tmp_path / "keras-home"))
    if dataset == "imdb":
        monkeypatch.setattr(imdb, "KERAS_ORIGIN", source.parent.as_uri() + "/")
        source.rename(source.with_name("imdb.npz"))
        download = lambda: imdb.fetch("imdb.npz", digest)  # noqa: E731
    else:
        monkeypatch.setattr(lyrics, "URL", source.as_uri())
        monkeypatch.setattr(lyrics, "SHA256", digest)
        download = lambda: lyrics.corpus_file(lyrics.Options())  # noqa: E731
    was_on = keras.config.is_interactive_logging_enabled()
    path = download()
    assert path.is_file() and capsys.readouterr() == ("", "")
    assert keras.config.is_interactive_logging_enabled() == was_on
    path.unlink()
    forced_on(monkeypatch)
    download()
    assert "Downloading data from" in capsys.readouterr().out
