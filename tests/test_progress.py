"""Progress for downloads, archive reading and data preparation: drawn on a terminal, silent elsewhere."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
from pathlib import Path

import pytest

from rnnlab import progress


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


def forced_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """stderr (pytest's capture) passes for a terminal: what a person watching would see."""
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)


def test_imdb_reading_and_tokenizing_show_progress_only_when_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rnnlab.data import imdb
    from tests.test_imdb import tarball, write_acl_tree

    tree = write_acl_tree(tmp_path / "tree", per_class=600)
    options = imdb.Options(source="directory", path=str(tmp_path / "tree"), num_words=50, maxlen=20)
    archive = imdb.Options(source="directory", path=str(tarball(tree, tmp_path / "acl.tar.gz")), num_words=50, maxlen=20)

    def prepare() -> None:
        imdb.Imdb().load(options, seed=0, validation_split=0.0)
        imdb.read_directory(archive)

    prepare()
    assert capsys.readouterr() == ("", ""), "progress drawn off a terminal"
    forced_on(monkeypatch)
    prepare()
    out, err = capsys.readouterr()
    assert out == ""
    for step in (
        "Reading train/pos reviews",
        "600/600",
        "Learning the vocabulary",
        "Tokenizing 1,200 reviews",
        "Reading acl.tar.gz",
    ):
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

    from rnnlab.data import imdb, lyrics

    source = tmp_path / "origin" / "file.bin"
    source.parent.mkdir()
    source.write_bytes(b"not really data" * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(tmp_path / "keras-home"))
    if dataset == "imdb":
        monkeypatch.setattr(imdb, "KERAS_ORIGIN", source.parent.as_uri() + "/")
        source.rename(source.with_name("imdb.npz"))
        download = lambda: imdb.download("imdb.npz", digest)  # noqa: E731
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
