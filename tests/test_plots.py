"""`rnnlab plot`: several runs' curves of one metric in one PNG, one labelled line per run."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from rnnlab.errors import RunError
from rnnlab.run.plots import overlay_figure, plot_runs


def column(run: Path, name: str) -> list[float]:
    with (run / "history.csv").open() as f:
        return [float(row[name]) for row in csv.DictReader(f)]


def test_one_line_per_run_with_legend_and_axes(tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    runs = [tiny_runs["onehot_val"], tiny_runs["gru_embed"]]
    overlay = plot_runs(runs, "loss", tmp_path / "loss.png")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [c.label for c in overlay.curves] == ["onehot_val", "gru_embed"]
    assert overlay.curves[0].epochs == [1, 2, 3] and overlay.curves[1].epochs == [1, 2]
    assert overlay.curves[1].values == pytest.approx(column(runs[1], "loss"))
    fig = overlay_figure(overlay.curves, "loss")
    ax = fig.axes[0]
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [c.values for c in overlay.curves]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["onehot_val", "gru_embed"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    plt.close(fig)


def test_runs_with_the_same_name_get_distinct_labels(tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    copy = shutil.copytree(tiny_runs["gru_embed"], tmp_path / "other" / "gru_embed")
    overlay = plot_runs([tiny_runs["gru_embed"], copy], "accuracy", tmp_path / "a.png")
    assert len({c.label for c in overlay.curves}) == 2


def test_unknown_metric_lists_the_available_ones(tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"no metric 'val_loss' .* available: accuracy, loss \(pick one with --metric\)"):
        plot_runs([tiny_runs["gru_embed"]], "val_loss", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--metric", "lost"], "no metric 'lost' in its history; available: accuracy, loss, val_accuracy, val_loss"),
        (["{folder}"], "not a run folder (no history.csv)"),
        (["--out", "x.jpg"], "the picture is a PNG"),
    ],
)
def test_cli_errors_are_one_line(cli, tiny_runs: dict[str, Path], tmp_path: Path, extra: list[str], expected: str) -> None:
    (tmp_path / "folder").mkdir()
    args = [a.format(folder=tmp_path / "folder") for a in extra]
    result = cli("plot", str(tiny_runs["onehot_val"]), *args)
    assert result.exit_code == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_writes_the_default_file(cli, tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    result = cli("plot", str(tiny_runs["onehot_val"]), str(tiny_runs["gru_embed"]), "--metric", "accuracy")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Wrote accuracy.png: accuracy of onehot_val, gru_embed"
    assert (tmp_path / "accuracy.png").is_file()
