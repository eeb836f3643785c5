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
    with pytest.raises(
        RunError, match=r"no metric 'val_loss' .* available: accuracy, learning_rate, loss \(pick one with --metric\)"
    ):
        plot_runs([tiny_runs["gru_embed"]], "val_loss", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            ["--metric", "lost"],
            "no metric 'lost' in its history; available: accuracy, learning_rate, loss, val_accuracy, val_loss",
        ),
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


def test_default_is_loss_with_val_loss_beside_it(cli, tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    """Every run has loss; val_loss is drawn for the runs that have it, in the same panel."""
    result = cli("plot", str(tiny_runs["onehot_val"]), str(tiny_runs["gru_embed"]))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Wrote loss.png: loss and val_loss of onehot_val, gru_embed"
    overlay = plot_runs([tiny_runs["onehot_val"], tiny_runs["gru_embed"]])
    assert [(c.label, c.metric) for c in overlay.curves] == [
        ("onehot_val", "loss"),
        ("gru_embed", "loss"),
        ("onehot_val", "val_loss"),
    ]
    fig = overlay_figure(overlay.curves)
    assert len(fig.axes) == 1 and [line.get_linestyle() for line in fig.axes[0].get_lines()] == ["-", "-", "--"]
    plt.close(fig)


def test_repeated_metric_logy_markers_and_integer_ticks(cli, tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    run = str(tiny_runs["gru_embed"])
    result = cli("plot", run, "--metric", "loss", "--metric", "accuracy", "--logy", "--out", "two.png")
    assert result.exit_code == 0, result.output
    overlay = plot_runs([tiny_runs["gru_embed"]], ["loss", "accuracy"], tmp_path / "two.png", logy=True)
    fig = overlay_figure(overlay.curves, logy=True)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    assert all(line.get_marker() == "." for ax in fig.axes for line in ax.get_lines())
    fig.canvas.draw()
    assert all(float(t).is_integer() for ax in fig.axes for t in ax.get_xticks())
    plt.close(fig)


def test_plot_refuses_to_overwrite_a_file_it_did_not_write(cli, tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    run = str(tiny_runs["gru_embed"])
    (tmp_path / "mine.png").write_bytes(b"not a picture of plot's")
    refused = cli("plot", run, "--out", "mine.png")
    assert refused.exit_code == 2 and "was not written by `rnnlab plot`" in refused.stderr
    assert (tmp_path / "mine.png").read_bytes() == b"not a picture of plot's"
    assert cli("plot", run, "--out", "ours.png").exit_code == 0
    assert cli("plot", run, "--out", "ours.png").exit_code == 0  # its own picture: overwritten
    import shutil

    shutil.copy(tiny_runs["gru_embed"] / "curves.png", tmp_path / "curves.png")
    assert cli("plot", run, "--out", "curves.png").exit_code == 2


def test_curves_mark_the_best_epoch_and_the_test_score(tmp_path: Path) -> None:
    from rnnlab.run import plots

    drawn = {}
    original = plots.save_png
    plots.save_png = lambda fig, target, writer=plots.TRAIN_WRITER: drawn.setdefault("fig", fig)  # type: ignore[assignment]
    try:
        history = {"epoch": [0.0], "loss": [0.5], "accuracy": [0.75]}
        plots.plot_curves(history, tmp_path / "c.png", "one epoch", best_epoch=1, tests={"loss": 0.6, "accuracy": 0.7})
    finally:
        plots.save_png = original  # type: ignore[assignment]
    fig = drawn["fig"]
    for ax in fig.axes:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "best epoch 1" in labels and any(label.startswith("test ") for label in labels)
        assert ax.get_lines()[0].get_marker() == "o"
    plt.close(fig)
