"""``dataset: text``: the user's own labelled texts in every format, binary and multi-class, learn
above chance on held-out data; per-class results, predict (TensorFlow-free, equal to Keras), show."""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from rnnlab.commands.predict import Answerer, predict
from rnnlab.config import load_config
from rnnlab.data import labelled
from rnnlab.run.opening import load_saved_model, open_run
from rnnlab.runtime import keras, tensorflow
from rnnlab.train.trainer import train
from tests.conftest import write_config
from tests.test_numpy_rnn import predict_in_a_new_process
from tests.test_text import keras_standardize

FILLER = [f"w{i}" for i in range(50)] + ["the", "a", "and", "it's", "so"]
SIGNAL = {
    "sport": ["goal", "match", "team", "coach"],
    "tech": ["code", "chip", "cloud", "server"],
    "food": ["pasta", "salad", "spicy", "bakery"],
    "spam": ["winner", "prize", "claim", "free"],
    "ham": ["meeting", "tomorrow", "lunch", "thanks"],
}
SMALL = {"encoding": "embedding", "embedding_dim": 12, "layer": "lstm", "units": 12}


def texts(labels: list[str], per_class: int, seed: int) -> list[tuple[str, str]]:
    """Filler words with a few of the label's own: a signal an LSTM learns in a few epochs. Some
    texts carry commas, quotes, line breaks and capitals, as real exports do."""
    rng = random.Random(seed)
    out = []
    for label in labels:
        for i in range(per_class):
            words = [rng.choice(FILLER) for _ in range(rng.randint(4, 30))]
            for _ in range(rng.randint(2, 3)):
                words.insert(rng.randrange(len(words) + 1), rng.choice(SIGNAL[label]))
            body = " ".join(words)
            if i % 5 == 0:
                body = f'{body.capitalize()}, "really",\nsaid one. {rng.choice(SIGNAL[label]).upper()}!'
            out.append((body, label))
    random.Random(seed + 1).shuffle(out)
    return out


def write_csv(path: Path, rows: list[tuple[str, str]], delimiter: str = ",") -> Path:
    """A spreadsheet export: BOM, CRLF, an id and a notes column (with the delimiter in it) beside text and label."""
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(["id", "text", "notes", "label"])
        for i, (body, label) in enumerate(rows):
            writer.writerow([i, body, f"n{delimiter}{i}", label])
    return path


def write_jsonl(path: Path, rows: list[tuple[str, str]], text_key: str = "text", label_key: str = "label") -> Path:
    lines = "".join(json.dumps({"id": i, text_key: body, label_key: label}) + "\n" for i, (body, label) in enumerate(rows))
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(lines.encode("utf-8")))
    else:
        path.write_text(lines, encoding="utf-8")
    return path


def write_folder(root: Path, rows: list[tuple[str, str]]) -> Path:
    for i, (body, label) in enumerate(rows):
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / f"{i:04d}.txt").write_text(body, encoding="utf-8")
    (root / "README.md").write_text("not a class", encoding="utf-8")
    return root


def text_config(folder: Path, name: str, model: dict | None = None, **data: object) -> Path:
    raw = {
        "experiment": {"name": name, "seed": 3, "output_root": str(folder / "checkpoints")},
        "data": {"dataset": "text", "num_words": 120, "maxlen": 40, **data},
        "model": {**SMALL, **(model or {})},
        "training": {"batch_size": 16, "epochs": 8, "learning_rate": 0.02, "validation_split": 0.15},
    }
    return write_config(folder, name, raw)


def test_every_format_reads_the_same_texts(tmp_path: Path) -> None:
    rows = texts(["sport", "tech"], 15, seed=1)
    options = {"text_column": "text", "label_column": "label"}
    sources = {
        "csv": write_csv(tmp_path / "a.csv", rows),
        "tsv": write_csv(tmp_path / "a.tsv", rows, delimiter="\t"),
        "jsonl": write_jsonl(tmp_path / "a.jsonl.gz", rows),
        "folder": write_folder(tmp_path / "folder", rows),
    }
    for fmt, path in sources.items():
        read = labelled.read_rows(str(path), labelled.Options(path=str(path), **options))
        assert sorted((r.text, r.label) for r in read) == sorted(rows), fmt
    assert any("\n" in body and "," in body for body, _ in rows), "the tables hold quoted commas and line breaks"
    named = write_jsonl(tmp_path / "named.jsonl", rows, text_key="body", label_key="stars")
    read = labelled.read_rows(str(named), labelled.Options(path=str(named), text_column="body", label_column="stars"))
    assert [(r.text, r.label) for r in read] == rows


def test_labels_sort_as_numbers_when_they_are() -> None:
    assert labelled.label_order({"10", "2", "1"}) == ["1", "2", "10"]
    assert labelled.label_order({"pos", "neg", "10"}) == ["10", "neg", "pos"]


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """spam/ham from a CSV export, a held-out test CSV, bucketed by length."""
    folder = tmp_path_factory.mktemp("binary")
    data = write_csv(folder / "train.csv", texts(["spam", "ham"], 120, seed=2))
    test = write_csv(folder / "test.csv", texts(["spam", "ham"], 40, seed=3))
    config = text_config(folder, "binary", path=str(data), test_path=str(test), bucket_by_length=True)
    train(load_config(config), verbose=0)
    return config


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three labels from gzipped JSONL, the class order fixed by data.labels, test_fraction held out."""
    folder = tmp_path_factory.mktemp("multi")
    data = write_jsonl(folder / "news.jsonl.gz", texts(["sport", "tech", "food"], 100, seed=4))
    config = text_config(folder, "multi", path=str(data), labels=["tech", "sport", "food"], test_fraction=0.25)
    train(load_config(config), verbose=0)
    return config


def test_binary_run_learns_and_reports_per_class(binary_run: Path, cli) -> None:
    run = open_run(binary_run)
    assert run.spec.kind == "binary" and run.state["labels"] == ["ham", "spam"]
    assert load_saved_model(run.files).layers[-1].get_config()["units"] == 1
    metrics = json.loads(run.files.metrics.read_text())
    assert metrics["test_accuracy"] >= 0.85
    result = metrics["classification"]
    assert result["split"] == "test" and result["samples"] == 80
    assert result["majority_accuracy"] == 0.5 and result["accuracy"] >= 0.85 > result["majority_accuracy"]
    assert set(result["per_class"]) == {"ham", "spam"} and all(c["support"] == 40 for c in result["per_class"].values())
    assert result["macro_f1"] == pytest.approx(np.mean([c["f1"] for c in result["per_class"].values()]), abs=1e-6)
    assert (run.files.root / "confusion.png").stat().st_size > 5000
    evaluated = cli("evaluate", str(binary_run))
    assert evaluated.exit_code == 0, evaluated.output
    assert "Per class (test, 80 samples):" in evaluated.stdout and "majority baseline (ham) 0.5000" in evaluated.stdout


def test_binary_predict_echoes_and_writes_every_probability(binary_run: Path, cli, tmp_path: Path) -> None:
    said = cli("predict", str(binary_run), "-p", "claim your free prize winner", "-p", "lunch meeting tomorrow thanks")
    assert said.exit_code == 0, said.output
    first, second = said.stdout.splitlines()
    assert first.startswith("spam ") and first.endswith("  claim your free prize winner")
    assert second.split()[0] == "ham" and 0.5 <= float(second.split()[1]) <= 1
    (tmp_path / "in.txt").write_text("free prize\nlunch tomorrow\nwinner claim\n", encoding="utf-8")
    for name in ("out.csv", "out.jsonl"):
        done = cli("predict", str(binary_run), "--input-file", str(tmp_path / "in.txt"), "--output", name)
        assert done.exit_code == 0 and f"Wrote 3 answer(s) to {name}" in done.stdout, done.output
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["label"] for r in table] == ["spam", "ham", "spam"]
    assert {"probabilities.ham", "probabilities.spam", "input", "probability"} <= set(table[0])
    assert float(table[0]["probabilities.ham"]) + float(table[0]["probabilities.spam"]) == pytest.approx(1, abs=1e-5)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["input"] for r in records] == ["free prize", "lunch tomorrow", "winner claim"]
    assert records[0]["probabilities"]["spam"] == records[0]["spam_probability"] == float(table[0]["probabilities.spam"])


def test_show_decodes_a_sample_of_a_text_run(binary_run: Path, cli) -> None:
    shown = cli("show", str(binary_run), "--index", "2", "--split", "test", "--json")
    assert shown.exit_code == 0, shown.output
    sample = json.loads(shown.stdout)
    with Path(load_config(binary_run).data.test_path).open(encoding="utf-8-sig", newline="") as f:
        body, label = [(r["text"], r["label"]) for r in csv.DictReader(f)][2]
    assert sample["label"] == label and sample["text"].split()[-1] in (body.lower().split()[-1].strip("!"), "[OOV]")


def test_multi_class_run_beats_the_majority_baseline(multi_run: Path) -> None:
    run = open_run(multi_run)
    assert run.spec.kind == "classification" and run.spec.num_classes == 3
    assert run.state["labels"] == ["tech", "sport", "food"], "data.labels fixes the class order"
    result = json.loads(run.files.metrics.read_text())["classification"]
    assert result["samples"] == 75 and [c["support"] for c in result["per_class"].values()] == [25, 25, 25]
    assert (
        result["accuracy"] >= 0.7 and result["macro_f1"] >= 0.65 and result["majority_accuracy"] == pytest.approx(1 / 3, abs=1e-6)
    )
    [answer] = predict(multi_run, ["spicy pasta from the bakery"])
    assert answer.record["label"] == "food" and list(answer.record["probabilities"]) == ["tech", "sport", "food"]


def test_predict_equals_keras_and_imports_no_tensorflow(multi_run: Path) -> None:
    """Our tokenizer + NumPy engine against TextVectorization + the saved Keras model, on 300 texts."""
    run = open_run(multi_run)
    inputs = [body for body, _ in texts(["sport", "tech", "food"], 100, seed=9)]
    answerer = Answerer(run)
    ours = np.array([[p.record["probabilities"][n] for n in run.state["labels"]] for p in answerer.answer(inputs)])
    assert answerer.backend == "numpy"
    tf = tensorflow()
    layer = keras().layers.TextVectorization(
        standardize=keras_standardize, output_mode="int", ragged=True, vocabulary=run.state["vocabulary"]
    )
    ids = keras().utils.pad_sequences(layer(tf.constant(inputs)).to_list(), maxlen=40)
    theirs = np.asarray(load_saved_model(run.files)(ids))
    np.testing.assert_allclose(ours, theirs, atol=1e-5)

    lines = predict_in_a_new_process(run.files.root, "a great match, the team won")
    assert lines[0].startswith("sport ") and lines[-1] == "TF_ABSENT"


def test_empty_texts_are_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = texts(["sport", "tech"], 10, seed=5)
    path = write_csv(tmp_path / "a.csv", [*rows[:3], ("   ", "tech"), ("", "sport"), *rows[3:]])
    found, labels = labelled.Text().corpora(labelled.Options(path=str(path), test_fraction=0), ("train",), None, 0)
    assert len(found["train"].items) == 20 and labels == ["sport", "tech"]
    assert "skipped 2 empty text(s)" in caplog.text and "a.csv: line 5" in caplog.text


def test_labels_choose_order_and_subset(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="rnnlab")
    path = write_jsonl(tmp_path / "a.jsonl", texts(["sport", "tech", "food"], 10, seed=6))
    options = labelled.Options(path=str(path), labels=["tech", "food"], test_fraction=0.3)
    assert labelled.Text().spec(options).kind == "binary"
    found, labels = labelled.Text().corpora(options, ("train", "test"), None, 7)
    assert labels == ["tech", "food"] and (len(found["train"].items), len(found["test"].items)) == (14, 6)
    assert list(np.bincount(found["test"].labels)) == [3, 3], "the test split is stratified"
    assert "left out 10 text(s)" in caplog.text


def test_the_test_split_is_found_again_from_the_saved_state(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", texts(["ham", "spam"], 20, seed=8))
    options = labelled.Options(path=str(path), num_words=50, maxlen=20)
    data = labelled.Text().load(options, seed=11, validation_split=0.25)
    assert (len(data.train), len(data.validation), len(data.test)) == (24, 8, 8)
    again = labelled.Text().examples(options, data.state, "test")
    np.testing.assert_array_equal(np.sort(again.x, axis=0), np.sort(data.test.x, axis=0))
    assert labelled.Text().label_name(1, data.state) == "spam"
    assert not np.array_equal(labelled.Text().load(options, seed=12, validation_split=0.25).test.x, data.test.x)
