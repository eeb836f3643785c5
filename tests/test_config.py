from __future__ import annotations

from pathlib import Path

import pytest

from rnnlab.config import dump_config, load_config
from rnnlab.errors import ConfigError
from tests.conftest import CONFIGS, write_config

GOOD = {"data": {"dataset": "alphabet"}}


def test_shipped_configs_validate() -> None:
    for path in sorted(CONFIGS.glob("*.yaml")):
        config = load_config(path)
        assert config.name == path.stem


def test_defaults_and_name_from_file_stem(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "my_run", GOOD))
    assert config.name == "my_run"
    assert config.experiment.output_root == "checkpoints"
    assert config.model.layer == "simple_rnn" and config.training.early_stopping is None
    assert config.run_dir == Path("checkpoints/my_run")


def test_overrides_are_yaml_typed(tmp_path: Path) -> None:
    path = write_config(tmp_path, "r", GOOD)
    config = load_config(
        path,
        ["training.epochs=5", "model.layer=lstm", "training.clipnorm=1.5", "training.early_stopping={patience: 3}"],
    )
    assert config.training.epochs == 5 and isinstance(config.training.epochs, int)
    assert config.model.layer == "lstm"
    assert config.training.clipnorm == 1.5
    assert config.training.early_stopping is not None and config.training.early_stopping.patience == 3


def test_early_stopping_switches(tmp_path: Path) -> None:
    path = write_config(tmp_path, "r", GOOD)
    assert load_config(path, ["training.early_stopping=off"]).training.early_stopping is None
    on = load_config(path, ["training.early_stopping=true"]).training.early_stopping
    assert on is not None and on.monitor == "auto" and on.restore_best_weights


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "r", GOOD), ["model.units=7"])
    again = load_config(write_config(tmp_path, "again", __import__("yaml").safe_load(dump_config(config))))
    assert again.model_dump() == config.model_dump()


BAD_FILES = [
    ({"data": {"dataset": "alphabet"}, "model": {"unitz": 3}}, "unknown key 'model.unitz'; did you mean 'units'?"),
    ({"data": {"dataset": "alphabet", "windw": 2}}, "unknown key 'data.windw'; did you mean 'window'?"),
    ({"data": {"dataset": "alphabt"}}, "unknown dataset 'alphabt'; did you mean 'alphabet'?"),
    ({"data": {"dataset": "alphabet"}, "model": {"layer": "lstmm"}}, "model.layer: 'lstmm' is not allowed; did you mean 'lstm'?"),
    ({"data": {"dataset": "alphabet"}, "model": {"units": 0}}, "model.units: input should be greater than or equal to 1"),
    (
        {"data": {"dataset": "alphabet"}, "training": {"learning_rate": -0.1}},
        "training.learning_rate: input should be greater than 0",
    ),
    ({"data": {"dataset": "alphabet"}, "model": {"units": "many"}}, "model.units: input should be a valid integer"),
    ({"data": {"dataset": "alphabet", "window": 9}}, "window 9 is longer than the 5 letters"),
    ({"model": {"units": 3}}, "missing section 'data'"),
    ({"data": {"window": 1}}, "data.dataset is required"),
    ({"data": {"dataset": "alphabet"}, "experiment": {"name": "../escape"}}, "must be a plain folder name"),
    ({"data": {"dataset": "alphabet"}, "experiment": {"name": "/abs/path"}}, "must be a plain folder name"),
    ({"data": {"dataset": "alphabet"}, "trainin": {}}, "unknown key 'trainin'; did you mean 'training'?"),
    ({"data": {"dataset": "alphabet"}, "model": 3}, "model must be a section"),
    (
        {"data": {"dataset": "alphabet"}, "model": {"layer": "gru", "forget_bias": 3}},
        "forget_bias is only for layer lstm (here 'gru'); remove model.forget_bias or set model.layer=lstm",
    ),
    (
        {"data": {"dataset": "alphabet"}, "model": {"embedding_dropout": 0.1}},
        "embedding_dropout is only for encoding embedding (here 'onehot'); remove model.embedding_dropout or set "
        "model.encoding=embedding",
    ),
    (
        {"data": {"dataset": "alphabet"}, "model": {"embedding_init": "ppmi"}},
        "embedding_init is only for encoding embedding (here 'onehot'); remove model.embedding_init or set "
        "model.encoding=embedding",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), BAD_FILES)
def test_bad_config_names_file_key_and_fix(tmp_path: Path, raw: dict, expected: str) -> None:
    path = write_config(tmp_path, "bad", raw)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message
    assert message.startswith(str(path)) and "\n" not in message


BAD_OVERRIDES = [
    ("epochs5", "expected KEY=VALUE"),
    ("training..epochs=5", "expected KEY=VALUE"),
    ("model.units=[1", "value is not valid YAML"),
    ("model.units.deep=1", "model.units: input should be a valid integer"),
    ("data.dataset.x=1", "data.dataset is a value, not a section"),
    ("training.epochz=5", "unknown key 'training.epochz'; did you mean 'epochs'?"),
]


@pytest.mark.parametrize(("expression", "expected"), BAD_OVERRIDES)
def test_bad_override_names_the_override(tmp_path: Path, expression: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, "r", GOOD), [expression])
    assert expected in str(info.value)
    assert f"--set {expression!r}" in str(info.value)


def test_yaml_syntax_error_shows_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("data:\n  dataset: alphabet\n model: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"YAML syntax error at line \d+, column \d+"):
        load_config(path)


def test_empty_missing_and_non_mapping_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="file is empty"):
        load_config(empty)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(listing)


# Property: whatever YAML or --set a user writes, the loader accepts it or raises ConfigError.
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.data import dataset, names

TEXT = st.characters(blacklist_categories=("Cs",))

DATASET_KEYS = {name: sorted(set(dataset(name).options_model.model_fields) - {"dataset"}) for name in names()}
"""Every registered dataset's own keys, so the property reaches each dataset's validators."""
KEYS = [
    "experiment",
    "data",
    "model",
    "training",
    "dataset",
    *names(),
    "units",
    "layer",
    "encoding",
    "learning_rate",
    "epochs",
    "early_stopping",
    "checkpoint",
    "monitor",
    "name",
    "seed",
    "dropout",
    *sorted({key for keys in DATASET_KEYS.values() for key in keys}),
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(TEXT, max_size=12),
    st.sampled_from(["alphabet", "lstm", "onehot", "auto", "off", "../x", "1e-3"]),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS) | st.text(TEXT, max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
EXPRESSIONS = st.one_of(
    st.text(TEXT, max_size=30),
    st.builds(
        lambda k, v: f"{k}={v}",
        st.lists(st.sampled_from(KEYS) | st.text(TEXT, max_size=4), min_size=1, max_size=3).map(".".join),
        st.text(TEXT, max_size=12),
    ),
)
DATA_SECTIONS = st.one_of(
    *(
        st.fixed_dictionaries({"dataset": st.just(name)}, optional={key: DOCUMENTS for key in keys})
        for name, keys in DATASET_KEYS.items()
    )
)
NEAR_VALID = st.fixed_dictionaries(
    {"data": DATA_SECTIONS},
    optional={
        section: st.dictionaries(st.sampled_from(KEYS), DOCUMENTS, max_size=3) | SCALARS
        for section in ("experiment", "model", "training")
    },
)
RAW_TEXT = st.one_of(st.text(TEXT, max_size=80), (DOCUMENTS | NEAR_VALID).map(lambda d: yaml.safe_dump(d, allow_unicode=True)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=RAW_TEXT, overrides=st.lists(EXPRESSIONS, max_size=3))
def test_any_yaml_and_set_is_accepted_or_a_config_error(tmp_path: Path, text: str, overrides: list[str]) -> None:
    path = tmp_path / "random.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path, overrides)
    except ConfigError as exc:
        assert "\n" not in str(exc).strip()


def test_yaml_is_read_as_yaml_1_2_with_home_expanded(tmp_path: Path) -> None:
    """What a person means: ``on`` is text, ``010`` is ten, ``~`` is the home folder; YAML 1.1 said True, 8 and a folder named ``~``."""
    path = tmp_path / "yaml12.yaml"
    path.write_text("data: {dataset: alphabet, letters: on}\nmodel: {units: 010}\nexperiment: {output_root: ~/rnnlab-runs}\n")
    config = load_config(path, ["training.epochs=0x10"])
    assert (config.data.letters, config.model.units, config.training.epochs) == ("on", 10, 16)
    assert config.run_dir == Path.home() / "rnnlab-runs" / "yaml12"
