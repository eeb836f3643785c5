"""`rnnlab init`: a commented starter config, built from the schema, that `rnnlab config` accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rnnlab.commands.init import starter_config
from rnnlab.config import Config, Training, load_config
from rnnlab.data import dataset as registered
from rnnlab.data import names


@pytest.mark.parametrize("dataset", names())
def test_every_dataset_starter_validates_with_its_defaults(cli, tmp_path: Path, dataset: str) -> None:
    made = cli("init", "starter", "--dataset", dataset)
    assert made.exit_code == 0, made.output
    path = tmp_path / "configs" / "starter.yaml"
    shown = cli("config", str(path))
    assert shown.exit_code == 0, shown.output
    resolved = yaml.safe_load(shown.stdout)
    assert resolved["data"] == registered(dataset).options_model().model_dump(mode="json")
    starter = registered(dataset).starter
    defaults = Config.model_validate({"data": {"dataset": dataset}, "experiment": {"name": "starter"}, **starter})
    assert resolved == defaults.model_dump(mode="json")


def test_each_key_carries_its_default_and_description() -> None:
    text = starter_config("demo", layer="lstm", encoding="embedding")
    for key, info in Training.model_fields.items():
        if key in ("early_stopping", "checkpoint") or key in registered("alphabet").starter["training"]:
            continue  # sections, and what the alphabet's starter sets so that it learns
        default = yaml.safe_dump(info.default, default_flow_style=True).removesuffix("\n...\n").strip()
        assert re.search(rf"^  {key}: {re.escape(default)} +# {re.escape(info.description)}", text, flags=re.M), key
    assert re.search(r"^  layer: lstm +# .*\(one of: simple_rnn, lstm, gru\)", text, flags=re.M)
    assert re.search(r"^  encoding: embedding ", text, flags=re.M)


def test_commented_early_stopping_block_turns_on_when_uncommented(tmp_path: Path) -> None:
    text = starter_config("demo")
    text = text.replace("early_stopping: null", "early_stopping:").replace("lr_schedule: null", "lr_schedule:")
    text = re.sub(r"^(\s+)# (\w+:)", r"\1\2", text, flags=re.M)
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    stopping = load_config(path).training.early_stopping
    assert stopping is not None and stopping.patience == 10 and stopping.monitor == "auto"
    schedule = load_config(path).training.lr_schedule
    assert schedule is not None and schedule.kind == "reduce_on_plateau" and schedule.patience == 5


def test_existing_file_is_kept_unless_forced(cli, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("# my own experiment\n")
    refused = cli("init", "x", "--out", str(target))
    assert refused.exit_code == 2
    assert refused.stderr.strip() == f"error: {target}: already exists; pass --force to overwrite it or choose another --out"
    assert target.read_text() == "# my own experiment\n"
    forced = cli("init", "x", "--out", str(target), "--layer", "gru", "--force")
    assert forced.exit_code == 0, forced.output
    assert load_config(target).model.layer == "gru"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--layer", "lstmm"], "model.layer: 'lstmm' is not allowed; did you mean 'lstm'?"),
        (["--dataset", "alfabet"], "unknown dataset 'alfabet'; did you mean 'alphabet'?"),
        (["--out", "x.txt"], "configs are .yaml files"),
    ],
)
def test_bad_choices_are_one_line_and_write_nothing(cli, tmp_path: Path, args: list[str], expected: str) -> None:
    result = cli("init", "x", *args)
    assert result.exit_code == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "configs").exists() and not (tmp_path / "x.txt").exists()


def test_bad_name_is_refused(cli) -> None:
    result = cli("init", "../escape")
    assert result.exit_code == 2 and "must be a plain folder name" in result.stderr


def test_a_bare_alphabet_starter_learns(cli, tmp_path: Path) -> None:
    """The dataset's starter settings (learning rate, epochs) make `init` then `train` reach accuracy 1.0."""
    assert cli("init", "bare").exit_code == 0
    trained = cli("train", "configs/bare.yaml", "-q")
    assert trained.exit_code == 0, trained.output
    import json

    metrics = json.loads((tmp_path / "checkpoints" / "bare" / "metrics.json").read_text())
    assert metrics["final"]["accuracy"] == 1.0


def test_init_from_a_shipped_config_keeps_its_values(cli, tmp_path: Path) -> None:
    from tests.conftest import CONFIGS

    made = cli("init", "mine", "--from", str(CONFIGS / "hello_rnn.yaml"), "--layer", "gru")
    assert made.exit_code == 0, made.output
    text = (tmp_path / "configs" / "mine.yaml").read_text()
    assert text.startswith(f"# mine: starter config written by `rnnlab init` from {CONFIGS / 'hello_rnn.yaml'}")
    mine = load_config(tmp_path / "configs" / "mine.yaml")
    shipped = load_config(CONFIGS / "hello_rnn.yaml")
    assert (mine.name, mine.model.layer) == ("mine", "gru")
    assert mine.data == shipped.data and mine.training == shipped.training
    assert mine.model.model_copy(update={"layer": shipped.model.layer}) == shipped.model
    missing = cli("init", "x", "--from", "nope.yaml")
    assert missing.exit_code == 2 and missing.stderr.count("\n") == 1, missing.output
