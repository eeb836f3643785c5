"""The lesson's sequence regression: built-in data, the user's CSV/NPZ, training to ±0.5, predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnlab.commands.predict import open_answerer
from rnnlab.commands.summary import summary_for_config
from rnnlab.config import load_config
from rnnlab.data import regression
from rnnlab.errors import DataError
from rnnlab.run.files import RunFiles, read_history
from rnnlab.run.plots import curve_panels
from rnnlab.train.trainer import train
from tests.conftest import CONFIGS, shipped_config

LESSON = ["1,2;2,3;3,4", "5,6;6,7;7,8", "9,10;10,11;11,12"]


def test_built_in_data_is_the_lessons() -> None:
    data = regression.Regression().load(regression.Options(), seed=0, validation_split=0.0)
    assert data.train.x.shape == (3, 3, 2) and data.train.y.tolist() == [10, 20, 30]
    assert data.train.x[1].tolist() == [[5, 6], [6, 7], [7, 8]]
    assert (data.spec.timesteps, data.spec.features, data.spec.kind) == (3, 2, "regression")


def test_csv_and_npz_layouts_read_the_same_data(tmp_path: Path) -> None:
    csv_path = tmp_path / "seqs.csv"
    csv_path.write_text('sequence,target\n"1,2;2,3;3,4",10\n5 6;6 7;7 8,20\n\n', encoding="utf-8")
    np.savez(tmp_path / "seqs.npz", x=np.array(regression.LESSON_X[:2]), y=np.array([10, 20]))
    from_csv = regression.Regression().load(regression.Options(path=str(csv_path)), seed=0, validation_split=0.0)
    from_npz = regression.Regression().load(regression.Options(path=str(tmp_path / "seqs.npz")), seed=0, validation_split=0.0)
    np.testing.assert_array_equal(from_csv.train.x, from_npz.train.x)
    np.testing.assert_array_equal(from_csv.train.y, [10, 20])
    assert regression.Regression().spec(regression.Options(path=str(csv_path))) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("seq,y\n1,2\n", "header 'sequence,target'"),
        ('sequence,target\n"1,2;2,3",10\n"1,2;2,3;3,4",20\n', "sequences differ"),
        ("sequence,target\n1 2;x 3,10\n", "line 2: '1 2;x 3' is not a sequence of numbers"),
        ("sequence,target\n1 2;2 3,ten\n", "target 'ten' is not a number"),
    ],
)
def test_bad_csv_names_the_line_and_the_fix(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        regression.Regression().load(regression.Options(path=str(path)), seed=0, validation_split=0.0)


def test_npz_with_objects_or_missing_arrays_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "objects.npz", x=np.array([[1], [1, 2]], dtype=object), y=np.array([1, 2]))
    np.savez(tmp_path / "nox.npz", y=np.array([1.0]))
    with pytest.raises(DataError, match="holds pickled Python objects"):
        regression.samples(regression.Options(path=str(tmp_path / "objects.npz")))
    with pytest.raises(DataError, match=r"missing array\(s\) \['x'\]"):
        regression.samples(regression.Options(path=str(tmp_path / "nox.npz")))


def test_prefix_syntax_and_shape_check() -> None:
    state = {"timesteps": 3, "features": 2}
    np.testing.assert_array_equal(regression.encode("1,2;2,3;3,4", state), regression.encode("[[1,2],[2,3],[3,4]]", state))
    with pytest.raises(DataError, match="has 2 step\\(s\\) of 2 number\\(s\\) but this run reads 3 of 2"):
        regression.encode("1,2;2,3", state)


def test_summary_shows_the_lessons_numbers() -> None:
    text = summary_for_config(load_config(CONFIGS / "regression_rnn.yaml")).text()
    assert "simple_rnn_1 (SimpleRNN): 4 × (2 + 4 + 1) = 28" in text
    assert "output (Dense): 4 × 1 + 1 = 5" in text and "total = 33" in text


def test_lesson_model_trains_within_half_a_unit(cli, tmp_path: Path) -> None:
    """The shipped model and optimiser for the lesson's 2000 steps: the three sequences repeated so one
    epoch holds 200 of the lesson's full-batch steps (Keras's per-epoch overhead dominates otherwise)."""
    x, y = np.array(regression.LESSON_X, dtype=np.float32), np.array(regression.LESSON_Y, dtype=np.float32)
    np.savez(tmp_path / "lesson.npz", x=np.repeat(x, 200, axis=0), y=np.repeat(y, 200))
    config = shipped_config(
        "regression_rnn", tmp_path, data={"path": str(tmp_path / "lesson.npz")}, training={"epochs": 10, "batch_size": 3}
    )
    run_dir = train(load_config(config), verbose=0).run_dir
    answers = open_answerer(run_dir).answer(LESSON)
    values = [a.record["output"] for a in answers]
    assert np.abs(np.array(values) - [10, 20, 30]).max() <= 0.5, values
    assert curve_panels(read_history(RunFiles(run_dir).history)) == ["loss"]
    printed = cli("predict", str(run_dir), "--prefix", "1,2;2,3;3,4")
    assert printed.exit_code == 0 and printed.stdout.startswith("1,2;2,3;3,4 -> ")
    assert abs(float(printed.stdout.split("->")[1]) - 10) <= 0.5
    record = json.loads(cli("predict", str(run_dir), "--prefix", "[[9,10],[10,11],[11,12]]", "--json").stdout)
    assert abs(record["output"] - 30) <= 0.5 and record["sequence"][0] == [9.0, 10.0]
