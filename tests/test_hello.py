"""The lesson's "hello" → "ohlol": one label per character, one-hot and Embedding, stacked layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnlab.commands.predict import open_answerer
from rnnlab.commands.summary import summary_for_config
from rnnlab.config import load_config
from rnnlab.data import hello
from rnnlab.errors import ConfigError, DataError
from rnnlab.train.trainer import train
from tests.conftest import CONFIGS, shipped_config, write_config


def test_lesson_ids_follow_the_sorted_characters() -> None:
    data = hello.Hello().load(hello.Options(), seed=0, validation_split=0.0)
    assert data.state == {"vocab": ["e", "h", "l", "o"]}
    assert data.train.x.tolist() == [[1, 0, 2, 2, 3]] and data.train.y.tolist() == [[3, 1, 2, 3, 2]]
    assert data.spec.kind == "tagging" and data.spec.vocab_size == 4


def test_pairs_generalise_and_must_line_up(tmp_path: Path) -> None:
    options = hello.Options(source=["abc", "cab"], target=["bca", "abc"])
    assert hello.Hello().load(options, seed=0, validation_split=0.0).train.x.shape == (2, 3)
    bad = write_config(tmp_path, "bad", {"data": {"dataset": "hello", "source": "hello", "target": "ohlo"}})
    with pytest.raises(ConfigError, match="must be non-empty and equally long"):
        load_config(bad)
    with pytest.raises(DataError, match="'x' — use only this run's characters 'ehlo'"):
        hello.encode("hex", {"vocab": list("ehlo")})


def test_embedding_config_stacks_two_layers() -> None:
    result = summary_for_config(load_config(CONFIGS / "hello_embedding.yaml"))
    assert [layer.kind for layer in result.layers] == ["Embedding", "SimpleRNN", "SimpleRNN", "Dense"]
    assert "embedding (Embedding): 4 × 10 = 40" in result.text()


@pytest.mark.parametrize("name", ["hello_rnn", "hello_embedding"])
def test_lesson_models_learn_ohlol(cli, tmp_path: Path, name: str) -> None:
    config = shipped_config(name, tmp_path)
    metrics = train(load_config(config), verbose=0).metrics
    assert metrics["final"]["accuracy"] == 1.0
    answerer = open_answerer(config)
    assert answerer.answer(["hello"])[0].record["output"] == "ohlol"
    assert answerer.backend == "numpy"
    printed = cli("predict", str(config), "--prefix", "hello")
    assert printed.exit_code == 0 and printed.stdout.strip() == "hello -> ohlol"
