"""Your own labelled text: a CSV, TSV or JSONL file (or a .gz of one), or a folder of class folders.

Each row (or ``.txt`` file) is one text and its label; two labels train ``Dense(1, sigmoid)``, more
``Dense(n, softmax)``. Labels are sorted (as numbers when they all are whole numbers) and saved with
the run, or fixed in order and subset by ``labels:``. The words go through the same pipeline as
IMDB's (``text.TextClassifier``): the vocabulary is learned on the training fold only, texts are
cut or padded to ``maxlen``, optionally batched by length. The test split is ``test_path`` or a
stratified, seeded ``test_fraction`` of ``path``; validation is ``training.validation_split`` of the
training part, stratified.

Tables are read with the standard ``csv`` module (quoted fields holding commas, quotes and line
breaks, a UTF-8 byte-order mark, CRLF line ends, columns other than the two named ignored); a
folder is read like ``keras.utils.text_dataset_from_directory`` (one subfolder per class, its
``.txt`` files the texts, in sorted order).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from rnnlab import fetch, progress
from rnnlab.data import text
from rnnlab.data.contract import TaskSpec
from rnnlab.errors import DataError

log = logging.getLogger("rnnlab")

DEFAULT_TEST_FRACTION = 0.2
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
Format = Literal["auto", "csv", "tsv", "jsonl", "folder"]


class Options(text.SequenceOptions):
    dataset: Literal["text"] = "text"
    path: str | None = Field(
        None, description="a .csv, .tsv or .jsonl file (or a .gz of one), or a folder with one subfolder of .txt files per class"
    )
    format: Format = Field(
        "auto", description="auto: from path's suffix (.csv, .tsv, .jsonl, each optionally .gz) or folder; or say which"
    )
    text_column: str = Field("text", description="tables: the column (JSONL: the key) holding the text")
    label_column: str = Field("label", description="tables: the column (JSONL: the key) holding the label")
    test_path: str | None = Field(None, description="the test split, in the same format as path; default: test_fraction of path")
    test_fraction: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="without test_path: this share of each label held out for testing (seeded); default 0.2, 0 = no test split",
    )
    labels: list[str | int] | None = Field(
        None,
        min_length=2,
        description="the labels in class order; rows with other labels are left out; default: every label found, sorted",
    )
    num_words: int = Field(
        10000, ge=3, description="vocabulary size, learned on the training fold: ids ≥ num_words become out-of-vocabulary"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Options:
        if self.test_path and self.test_fraction is not None:
            raise ValueError("give data.test_path or data.test_fraction, not both")
        if self.labels is not None:
            names = label_names(self.labels)
            if len(set(names)) != len(names):
                raise ValueError(f"data.labels lists a label twice: {names}")
        return self

    def fixed_labels(self) -> list[str] | None:
        return label_names(self.labels) if self.labels is not None else None


def label_names(values: list[str | int]) -> list[str]:
    return [str(v) for v in values]


def label_order(names: set[str]) -> list[str]:
    """Sorted; as numbers when every label is a whole number (ratings 1, 2, …, 10)."""
    if all(re.fullmatch(r"-?\d+", n) for n in names):
        return sorted(names, key=lambda n: (int(n), n))
    return sorted(names)


@dataclass
class Row:
    text: str
    label: str
    where: str
    """file:line (tables) or the file (folders), for messages."""


# --- reading --------------------------------------------------------------------------------------


def file_format(path: Path, given: str) -> str:
    if given != "auto":
        return given
    if path.is_dir():
        return "folder"
    name = path.name.lower().removesuffix(".gz")
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in SUFFIXES:
        raise DataError(f"data.path {path}: cannot tell the format from the name; set data.format to csv, tsv, jsonl or folder")
    return SUFFIXES[suffix]


def decoded(raw: bytes, where: Path) -> str:
    """UTF-8 text (a byte-order mark dropped), or one line naming the file and line of the bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{where}: line {line}: not UTF-8 text (byte {exc.start}); re-save the file as UTF-8") from None


def file_text(path: Path) -> str:
    try:
        raw = fetch.regular_file_bytes(path, what="data file")
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc}); check the path and its permissions") from None
    if path.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: not a readable .gz file ({exc}); re-compress it with gzip") from None
    return decoded(raw, path)


def table_rows(path: Path, delimiter: str, options: Options) -> list[Row]:
    reader = csv.reader(io.StringIO(file_text(path), newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header:
            raise DataError(
                f"{path}: empty file; the first line must name the columns, e.g. {options.text_column},{options.label_column}"
            )
        header = [name.strip() for name in header]
        columns = []
        for key, name in (("text_column", options.text_column), ("label_column", options.label_column)):
            if name not in header:
                raise DataError(
                    f"{path}: no column {name!r} (data.{key}); the header has {', '.join(map(repr, header))}: set data.{key} to one of them"
                )
            columns.append(header.index(name))
        rows = []
        start = reader.line_num + 1
        for fields in reader:
            if fields:
                if len(fields) < len(header):
                    raise DataError(
                        f"{path}: line {start}: {len(fields)} field(s) where the header has {len(header)}; "
                        f"quote fields that hold {'a tab' if delimiter == chr(9) else 'commas'} or line breaks"
                    )
                rows.append(Row(fields[columns[0]], fields[columns[1]].strip(), f"{path}: line {start}"))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(
            f"{path}: line {reader.line_num}: unreadable as {'TSV' if delimiter == chr(9) else 'CSV'} ({exc})"
        ) from None
    return rows


def jsonl_rows(path: Path, options: Options) -> list[Row]:
    rows = []
    for number, line in enumerate(file_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not JSON ({exc.msg}); each line must be one JSON object") from None
        if not isinstance(item, dict):
            raise DataError(
                f'{where}: a {type(item).__name__}, not an object; each line must be one object like {{"text": "…", "label": "…"}}'
            )
        values = []
        for key, name in (("text_column", options.text_column), ("label_column", options.label_column)):
            if name not in item:
                raise DataError(
                    f"{where}: no key {name!r} (data.{key}); the object has {', '.join(map(repr, item)) or 'no keys'}"
                )
            values.append(item[name])
        body, label = values
        if not isinstance(body, str):
            raise DataError(f"{where}: {options.text_column!r} is a {type(body).__name__}; the text must be a string")
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            raise DataError(
                f"{where}: {options.label_column!r} is a {type(label).__name__}; a label is a string or a whole number"
            )
        rows.append(Row(body, str(label).strip(), where))
    return rows


def folder_rows(path: Path) -> list[Row]:
    """``path/<class>/**/*.txt``, classes and files sorted (``text_dataset_from_directory``'s layout)."""
    classes = sorted(p for p in path.iterdir() if p.is_dir())
    if len(classes) < 2:
        found = f"only one class folder ({classes[0].name})" if classes else "no class folders"
        raise DataError(
            f"data.path {path}: {found}; a folder dataset needs one subfolder per class, at least two, each holding .txt files"
        )
    rows = []
    for folder in classes:
        files = sorted(p for p in folder.rglob("*.txt") if p.is_file())
        if not files:
            raise DataError(f"{folder}: no .txt files; put one text per .txt file in each class folder, or remove the folder")
        for file in progress.track(files, f"Reading {folder.name}"):
            try:
                raw = file.read_bytes()
            except OSError as exc:
                raise DataError(f"{file}: cannot read it ({exc.strerror or exc}); fix its permissions or remove it") from None
            rows.append(Row(decoded(raw, file), folder.name, str(file)))
    return rows


def read_rows(location: str, options: Options) -> list[Row]:
    path = Path(location).expanduser()
    if not path.exists():
        raise DataError(
            f"data.path {path}: no such file or folder; give a .csv, .tsv or .jsonl file, or a folder of class folders"
        )
    fmt = file_format(path, options.format)
    if fmt == "folder":
        if not path.is_dir():
            raise DataError(f"data.path {path}: format folder needs a folder with one subfolder per class")
        return folder_rows(path)
    if path.is_dir():
        raise DataError(f"data.path {path}: a folder, but data.format is {fmt}; set data.format: folder or name the file")
    if fmt == "jsonl":
        return jsonl_rows(path, options)
    return table_rows(path, "\t" if fmt == "tsv" else ",", options)


def with_text(rows: list[Row], source: str, column: str) -> list[Row]:
    """Rows with words; empty or blank texts are skipped and counted, refused when every one is; a
    blank label is refused."""
    for row in rows:
        if not row.label:
            raise DataError(f"{row.where}: blank label (data.label_column {column!r}); give every text a label or remove the row")
    kept = [row for row in rows if row.text.strip()]
    if not kept:
        raise DataError(f"{source}: no texts, or every text is empty; put the texts in the file (or the .txt files)")
    if len(kept) < len(rows):
        first = next(row for row in rows if not row.text.strip())
        log.warning("skipped %d empty text(s) in %s, e.g. %s", len(rows) - len(kept), source, first.where)
    return kept


def chosen_labels(rows: list[Row], options: Options, source: str, state: dict[str, Any] | None) -> list[str]:
    """The run's labels: the saved ones, ``data.labels``, or every label found, sorted."""
    if state is not None:
        return [str(n) for n in state["labels"]]
    found = {row.label for row in rows}
    fixed = options.fixed_labels()
    if fixed is None:
        if len(found) < 2:
            raise DataError(f"{source}: every text has the label {next(iter(found))!r}; a classifier needs at least two labels")
        return label_order(found)
    unseen = [name for name in fixed if name not in found]
    if unseen:
        raise DataError(
            f"data.labels: {unseen[0]!r} never appears in {source} (labels found: {', '.join(map(repr, label_order(found)))}); "
            "fix the spelling or remove it"
        )
    return fixed


def keep_labelled(rows: list[Row], labels: list[str], options: Options, source: str) -> list[Row]:
    """Rows whose label is one of ``labels``; others are left out when ``data.labels`` chose a
    subset, refused otherwise (a test label the training data never had)."""
    known = set(labels)
    if options.labels is None:
        for row in rows:
            if row.label not in known:
                raise DataError(
                    f"{row.where}: label {row.label!r} is not among the training labels ({', '.join(map(repr, labels))}); "
                    "fix it, or list the labels to keep in data.labels"
                )
        return rows
    kept = [row for row in rows if row.label in known]
    if len(kept) < len(rows):
        log.info("left out %d text(s) of %s whose label is not in data.labels", len(rows) - len(kept), source)
    return kept


def corpus(rows: list[Row], labels: list[str]) -> text.Corpus:
    index = {name: i for i, name in enumerate(labels)}
    return text.Corpus([row.text for row in rows], np.array([index[row.label] for row in rows], dtype=np.int32))


def test_rows(y: np.ndarray, labels: list[str], fraction: float, seed: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row numbers in file order: ``fraction`` of each label held out, seeded."""
    counts = np.bincount(y, minlength=len(labels))
    if fraction > 0 and counts.min() < 2:
        lonely = labels[int(np.argmin(counts))]
        raise DataError(
            f"{source}: label {lonely!r} has only {int(counts.min())} example(s); a stratified test split needs at least 2 of each: "
            "add examples, leave the label out of data.labels, or give data.test_path"
        )
    fit, held = text.stratified_folds(y, fraction, seed)
    return np.sort(fit), np.sort(held)


class Text(text.TextClassifier[Options]):
    """Labelled texts from a table or class folders, through the shared text pipeline."""

    options_model = Options

    def spec(self, options: Options) -> TaskSpec | None:
        fixed = options.fixed_labels()
        return text.task(options, len(fixed)) if fixed else None

    def corpora(
        self, options: Options, splits: tuple[str, ...], state: dict[str, Any] | None, seed: int
    ) -> tuple[dict[str, text.Corpus], list[str]]:
        if not options.path:
            raise DataError(
                "dataset 'text' needs data.path: a .csv, .tsv or .jsonl file (or a .gz of one), or a folder of class folders"
            )
        source = options.path
        rows = with_text(read_rows(source, options), source, options.label_column)
        labels = chosen_labels(rows, options, source, state)
        rows = keep_labelled(rows, labels, options, source)
        found: dict[str, text.Corpus] = {}
        if options.test_path:
            if "test" in splits:
                test = with_text(read_rows(options.test_path, options), options.test_path, options.label_column)
                found["test"] = corpus(keep_labelled(test, labels, options, options.test_path), labels)
            found["train"] = corpus(rows, labels)
        else:
            whole = corpus(rows, labels)
            fraction = DEFAULT_TEST_FRACTION if options.test_fraction is None else options.test_fraction
            fit, held = test_rows(whole.labels, labels, fraction, seed, source)
            found["train"] = whole.subset(fit)
            if len(held):
                found["test"] = whole.subset(held)
        return {split: found[split] for split in splits if split in found}, labels

    def new_state(self, options: Options, fit: text.Corpus, labels: list[str], seed: int) -> dict[str, Any]:
        return {
            "source": "text",
            "first_id": 2,
            "start_id": None,
            "oov_id": 1,
            "skip_top": 0,
            "num_words": options.num_words,
            "vocabulary": text.learned_vocabulary(fit.items, options.num_words),
            "labels": labels,
            "split_seed": seed,
        }
