"""The ``rnnlab`` command: parse arguments, call one library function, render the result.

Library modules are imported inside each command so ``rnnlab --help`` never loads TensorFlow.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from rnnlab.atomic import json_text
from rnnlab.errors import one_line
from rnnlab.runtime import DEBUG_ENV, debug_enabled


class OneLineUsageErrors(TyperGroup):
    """Click's usage errors (unknown option, missing argument, bad --length) as one ``error:``
    line with exit code 2, like every other bad input, instead of a usage block and a box."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        standalone = kwargs.pop("standalone_mode", True)
        kwargs["standalone_mode"] = False
        if not standalone:
            return super().main(*args, **kwargs)
        try:
            code = super().main(*args, **kwargs)
        except typer.TyperException as exc:
            message = exc.format_message().rstrip(".")
            if message:
                ctx = getattr(exc, "ctx", None)
                where = ctx.command_path if ctx else "rnnlab"
                typer.echo(f"error: {one_line(message)}{' ' if message.endswith('?') else '; '}see `{where} --help`", err=True)
            sys.exit(getattr(exc, "exit_code", 2))
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineUsageErrors,
    help="Train and study recurrent networks (SimpleRNN, LSTM, GRU) from a YAML config.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

F = TypeVar("F", bound=Callable[..., Any])

MAX_INPUT_BYTES = 64 << 20
"""``--input-file`` cap: inputs to answer, not a corpus."""
MAX_LENGTH = 100_000
"""``predict --length`` cap: a typo's extra zeros should not generate for an hour."""

ConfigArg = Annotated[Path, typer.Argument(help="YAML config file, e.g. configs/alphabet_onehot.yaml", show_default=False)]
TargetArg = Annotated[Path, typer.Argument(help="a config file or a run folder (checkpoints/<name>)", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="override a config value, YAML-typed: --set training.epochs=5 (repeatable)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]


def fail(message: str, code: int = 2) -> None:
    from rnnlab.progress import readers_may_leave

    with readers_may_leave():  # the exit code says it when nobody reads the line
        typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def handled(command: F) -> F:
    """Bad input → one line on stderr and exit 2; a bug → one line and exit 1; --debug shows tracebacks."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from rnnlab.errors import RnnlabError

        try:
            return command(*args, **kwargs)
        except RnnlabError as exc:
            if debug_enabled():
                raise
            fail(str(exc), code=getattr(exc, "exit_code", 2))
        except KeyboardInterrupt:
            if debug_enabled():
                raise
            fail("interrupted", code=130)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if debug_enabled():
                raise
            fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", code=1)

    return wrapper  # type: ignore[return-value]


def print_version(value: bool) -> None:
    if value:
        from rnnlab import __version__

        typer.echo(f"rnnlab {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks and TensorFlow's own log lines")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="print rnnlab's version and exit", callback=print_version, is_eager=True)
    ] = False,
) -> None:
    if debug:
        os.environ[DEBUG_ENV] = "1"
    logging.basicConfig(level=logging.DEBUG if debug_enabled() else logging.INFO, format="%(message)s", stream=sys.stderr)
    if not debug_enabled():
        logging.getLogger("rnnlab").setLevel(logging.INFO)
        logging.getLogger().setLevel(logging.WARNING)


def progress_verbosity() -> int:
    """A live progress bar on a terminal, one line per epoch in logs and pipes."""
    return 1 if sys.stdout.isatty() else 2


@app.command()
@handled
def train(
    config: TargetArg,
    set_: SetOpt = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="discard the existing run and start from epoch 0")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only the result lines, no per-epoch progress")] = False,
    log_every: Annotated[
        int | None,
        typer.Option(
            "--log-every",
            min=1,
            help="one line every N epochs instead of Keras's progress; default in a pipe: every epoch "
            "up to 50 epochs, about 50 lines for longer runs",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(help="multi_worker: every worker's host:port, comma-separated, the same on each (writes TF_CONFIG)"),
    ] = None,
    worker_index: Annotated[
        int | None, typer.Option(help="multi_worker: this worker's place in --workers; 0 is the chief")
    ] = None,
) -> None:
    """Train the model a config describes; re-running (with the config or the run folder) continues the same run.
    Training never depends on its output: a closed pipe (`| head`) or a hung-up terminal is ignored."""
    from rnnlab.config import load_target
    from rnnlab.progress import readers_may_leave
    from rnnlab.train.trainer import train as train_run

    cfg = load_target(config, set_ or [])
    if workers is not None or worker_index is not None:
        from rnnlab.train.distribute import cluster_from_cli

        cluster_from_cli(cfg, workers, worker_index)
    with readers_may_leave():
        verbose, extra = epoch_output(quiet, log_every, cfg.training.epochs, cfg.training.progress_interval_s)
        result = train_run(cfg, fresh=fresh, verbose=verbose, extra_callbacks=extra)
        for message in result.messages[result.continued_from > 0 :]:
            typer.echo(message, err=True)
        typer.echo(render_metrics(result.run_dir, result.metrics))
        for line in result.report:
            typer.echo(line)
    if "stopped_on_nan_at_epoch" in result.metrics:
        raise typer.Exit(2)


def epoch_output(quiet: bool, log_every: int | None, epochs: int, step_interval_s: float = 0.0) -> tuple[int, list[Any]]:
    """Keras's verbosity and our own lines: a live bar on a terminal; in a pipe a short line per
    epoch and, within epochs longer than ``step_interval_s``, one that often."""
    if quiet:
        return 0, []
    if log_every is None and sys.stdout.isatty():
        return progress_verbosity(), []
    from rnnlab.train.epoch_log import EpochLines, StepLines, auto_every

    steps = [StepLines(step_interval_s, typer.echo)] if step_interval_s else []
    return 0, [EpochLines(log_every or auto_every(epochs), typer.echo), *steps]


def render_metrics(run_dir: Path, metrics: dict[str, Any]) -> str:
    best = metrics.get("best", {})
    shown = ", ".join(f"{k} {v:.4f}" for k, v in best.items() if v is not None)
    lines = [
        f"Run folder: {run_dir}",
        f"Epochs: {metrics.get('epochs', 0)} ({metrics.get('seconds_per_epoch', 0):.3f} s/epoch); "
        f"best epoch {metrics.get('best_epoch', '-')} by {metrics.get('monitor', '-')}: {shown}",
    ]
    tests = {k: v for k, v in metrics.items() if k.startswith("test_")}
    if tests:
        lines.append("Test: " + ", ".join(f"{k.removeprefix('test_')} {v:.4f}" for k, v in tests.items()))
    if "baseline" in metrics:
        lines.append(render_baseline(metrics["baseline"]))
    return "\n".join(lines)


def render_baseline(baseline: dict[str, Any]) -> str:
    """``Baseline (validation): val_accuracy 0.91 vs majority-class 0.52``."""
    shown = ", ".join(f"{name.replace('_', '-')} {value:.4g}" for name, value in baseline["scores"].items() if value is not None)
    model = baseline.get("model")
    mine = f"{baseline['model_key']} {model:.4g} vs " if model is not None else f"{baseline['metric']}: "
    return f"Baseline ({baseline['split']}): {mine}{shown}"


def read_inputs(prefix: list[str] | None, input_file: Path | None, whole: bool = False) -> list[str] | None:
    """Inputs given up front, or None to stream standard input line by line; ``whole``: the file is
    one input (``Dataset.whole_input``)."""
    if prefix:
        return list(prefix)
    if input_file is not None:
        from rnnlab.errors import DataError
        from rnnlab.fetch import regular_file_bytes

        if not input_file.exists():
            raise DataError(f"--input-file {input_file}: file not found; give a text file with one input per line")
        raw = regular_file_bytes(input_file, limit=MAX_INPUT_BYTES, what="input file", shown=f"--input-file {input_file}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"--input-file {input_file}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
        return [text] if whole else [line for line in text.splitlines() if line.strip()]
    return None


@app.command()
@handled
def predict(
    target: TargetArg,
    prefix: Annotated[list[str] | None, typer.Option("--prefix", "-p", help="input to answer (repeatable)")] = None,
    input_file: Annotated[Path | None, typer.Option("--input-file", help="answer each non-empty line of FILE")] = None,
    length: Annotated[int, typer.Option(help="characters to generate (language models)", min=1, max=MAX_LENGTH)] = 50,
    temperature: Annotated[float, typer.Option(help="sampling temperature; 0 = greedy (language models)", min=0.0)] = 0.0,
    top_k: Annotated[int, typer.Option("--top-k", help="sample among the k likeliest; 0 = all", min=0)] = 0,
    seed: Annotated[int | None, typer.Option(help="seed for sampling", min=0)] = None,
    as_json: JsonOpt = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="also write every answer to FILE.csv or FILE.jsonl (one row per input)")
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Ask a trained run: next letter, sentiment, generated text, or a forecast. Without --prefix, reads stdin lines
    (a series reads all of stdin as one history, or forecasts after its data when there is none)."""
    from rnnlab.commands.predict import check_output, open_answerer, write_predictions

    if output is not None:
        check_output(output)
    answerer = open_answerer(target, tuple(set_ or []))
    params = {"length": length, "temperature": temperature, "top_k": top_k, "seed": seed}
    whole = answerer.dataset.whole_input
    texts = read_inputs(prefix, input_file, whole)
    if texts is None and whole:
        texts = ["" if sys.stdin.isatty() else sys.stdin.read()]
    if output is not None:
        predictions = answerer.answer(texts if texts is not None else list(stdin_lines()), params)
        write_predictions(output, predictions)
        typer.echo(f"Wrote {len(predictions)} answer(s) to {output}")
        return
    if texts is not None:
        for prediction in answerer.answer(texts, params):
            typer.echo(json_text(prediction.record) if as_json else prediction.line)
        return
    answer_stream(answerer, params, as_json)


def answer_stream(answerer: Any, params: dict[str, Any], as_json: bool) -> None:
    """Answer stdin line by line; a bad line is reported and skipped, and the exit code says so
    (in a pipe; on a terminal the session ends with 0, the errors having been read as they came)."""
    from rnnlab.errors import RnnlabError

    failed = False
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    if terminal:
        from rnnlab.commands.interactive import banner, terminal_lines

        typer.echo(banner(answerer.run), err=True)
    for line in terminal_lines() if terminal else stdin_lines():
        try:
            predictions = answerer.answer([line], params)
        except RnnlabError as exc:
            typer.echo(f"error: {one_line(str(exc))}", err=True)
            failed = True
            continue
        for prediction in predictions:
            typer.echo(json_text(prediction.record) if as_json else prediction.line)
    if failed and not terminal:
        raise typer.Exit(2)


def stdin_lines() -> Any:
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            typer.echo("input> ", err=True, nl=False)
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.rstrip("\n")


@app.command("config")
@handled
def show_config(config: TargetArg, set_: SetOpt = None) -> None:
    """Print the fully resolved config (defaults filled in, overrides applied) as YAML."""
    from rnnlab.config import dump_config, load_target

    typer.echo(dump_config(load_target(config, set_ or [])), nl=False)


@app.command()
@handled
def summary(config: TargetArg, set_: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Build the model from the config alone and explain every layer's parameter count."""
    from rnnlab.commands.summary import summary_for_config
    from rnnlab.config import load_target

    result = summary_for_config(load_target(config, set_ or []))
    typer.echo(json_text(result.as_dict(), indent=2) if as_json else result.text())


def complete_runs(incomplete: str) -> list[str]:
    """Run folders under checkpoints/ for shell completion (no TensorFlow, no config parsing)."""
    root = Path("checkpoints")
    found = sorted(str(p) for p in root.glob("*/config.yaml")) if root.is_dir() else []
    return [str(Path(p).parent) for p in found if str(Path(p).parent).startswith(incomplete)]


def complete_datasets(incomplete: str) -> list[str]:
    from rnnlab.data import names

    return [name for name in names() if name.startswith(incomplete)]


RunArg = Annotated[
    Path, typer.Argument(help="a run folder (checkpoints/<name>) or its config", autocompletion=complete_runs, show_default=False)
]


@app.command("runs")
@handled
def runs_command(
    root: Annotated[Path, typer.Argument(help="folder holding run folders")] = Path("checkpoints"),
    sort: Annotated[
        str | None,
        typer.Option(help="order by name, dataset, layer, encoding, epochs, best, test, wall or date; -KEY reverses"),
    ] = None,
    filter_: Annotated[
        list[str] | None, typer.Option("--filter", help="only runs whose KEY matches VALUE: --filter dataset=imdb (repeatable)")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV, one line per run")] = False,
) -> None:
    """Every run under ROOT in one table: best epoch (as train picked it), epochs, dataset, layer, test, wall time, date."""
    from rich.console import Console

    from rnnlab.commands.runs import list_runs, rich_table, select_runs

    table = select_runs(list_runs(root), sort, tuple(filter_ or []))
    if as_json:
        typer.echo(json_text(table.as_dict(), indent=2))
        return
    if as_csv:
        typer.echo(table.as_csv(), nl=False)
        return
    console = Console()
    console.print(rich_table(table, console.width))
    if not table.rows:
        typer.echo(f"No runs under {root} yet; make one with `rnnlab train CONFIG`.", err=True)


@app.command()
@handled
def evaluate(
    target: TargetArg,
    as_json: JsonOpt = False,
    set_: SetOpt = None,
    split: Annotated[
        str | None,
        typer.Option(help="test, validation or train; default the first of these the dataset has", show_default=False),
    ] = None,
) -> None:
    """Score a trained run's saved model on its dataset's test split (or validation tail, or training data)."""
    from rnnlab.commands.evaluate import evaluate_report

    check_split(split)
    scores, lines = evaluate_report(target, tuple(set_ or []), split)
    if as_json:
        typer.echo(json_text(scores))
        return
    name = scores["split"]
    shown = ", ".join(
        f"{k.removeprefix(name + '_')} {v:.4f}" for k, v in scores.items() if k.startswith(name + "_") and k != f"{name}_samples"
    )
    typer.echo(f"{name.capitalize()} ({scores[f'{name}_samples']:,} samples, {scores['run']}): {shown}")
    for line in lines:
        typer.echo(line)


def check_split(split: str | None) -> None:
    from rnnlab.errors import ConfigError

    if split is not None and split not in ("train", "validation", "test"):
        raise ConfigError(f"--split {split!r}: use train, validation or test")


@app.command()
@handled
def plot(
    runs: Annotated[list[Path], typer.Argument(help="run folders to compare", autocompletion=complete_runs, show_default=False)],
    metric: Annotated[
        list[str] | None,
        typer.Option(help="history.csv column to plot (repeatable), e.g. loss, accuracy, val_loss; default loss and val_loss"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="PNG to write; default METRIC.png (only a file plot wrote is overwritten)", show_default=False),
    ] = None,
    logy: Annotated[bool, typer.Option("--logy", help="logarithmic y axis")] = False,
) -> None:
    """Overlay several runs' curves in one PNG: a panel per metric, one line per run."""
    from rnnlab.run.plots import plot_runs

    overlay = plot_runs(runs, metric, out, logy=logy)
    typer.echo(f"Wrote {overlay.path}: {overlay.metric} of {', '.join(dict.fromkeys(c.label for c in overlay.curves))}")


@app.command()
@handled
def sweep(
    config: TargetArg,
    grid: Annotated[list[str] | None, typer.Option(help="KEY=V1,V2,...: every combination is one run (repeatable)")] = None,
    range_: Annotated[
        list[str] | None,
        typer.Option("--range", help="KEY=LOW:HIGH or KEY=log:LOW:HIGH, drawn by --random (repeatable)"),
    ] = None,
    random_points: Annotated[
        int | None,
        typer.Option("--random", min=1, help="N random points over --grid choices and --range bounds", show_default=False),
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the --random draws", min=0)] = 0,
    metric: Annotated[list[str] | None, typer.Option(help="metric(s) of the overlay plot; default loss and val_loss")] = None,
    set_: SetOpt = None,
) -> None:
    """One run per point of a grid (or N random points), one after another; re-run to continue an interrupted sweep.
    Ends with a results table (sweep.md, sweep.csv) and an overlay plot (sweep.png) in OUTPUT_ROOT/NAME-sweep/."""
    from rnnlab.commands.sweep import SweepSpec, run_sweep

    def announce(i: int, total: int, point: Any) -> None:
        done = " (done, skipped)" if point.skipped else ""
        typer.echo(f"[{i}/{total}] {point.name}{done}", err=True)

    result = run_sweep(
        SweepSpec(config, grid or [], range_ or [], set_ or [], random_points, seed),
        metric=metric,
        announce=announce,
        train_kwargs={"verbose": 0},  # one [i/N] line per point instead of every epoch
    )
    typer.echo(result.markdown(), nl=False)
    wrote = [result.table_md, result.table_csv, *([result.plot] if result.plot else [])]
    typer.echo(f"Wrote {', '.join(str(p) for p in wrote)}")


@app.command()
@handled
def export(
    run: RunArg,
    format_: Annotated[
        str,
        typer.Option("--format", help="keras (a .keras file), saved_model (TF SavedModel folder) or onnx (needs the onnx extra)"),
    ] = "keras",
    out: Annotated[
        Path | None,
        typer.Option(help="where to write; default RUN/export/model.keras or RUN/export/saved_model", show_default=False),
    ] = None,
) -> None:
    """Write the run's model for a serving stack: a .keras file, a TF SavedModel or ONNX (checked with onnxruntime)."""
    from rnnlab.commands.export import export_run

    exported = export_run(run, format_, out)
    typer.echo(f"Exported {exported.path} ({exported.format}); input {exported.describe_input()}")
    typer.echo(f"Load it with {exported.how_to_load()}")
    if exported.parity is not None:
        typer.echo(f"Check: {exported.parity.text()}")
        if not exported.parity.matches:
            raise typer.Exit(1)


@app.command()
@handled
def init(
    name: Annotated[str, typer.Argument(help="experiment name (also the file name)", show_default=False)],
    dataset: Annotated[str, typer.Option(help="dataset to start from", autocompletion=complete_datasets)] = "alphabet",
    layer: Annotated[
        str | None, typer.Option(help="simple_rnn, lstm or gru; default: model.layer's default", show_default=False)
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="onehot or embedding; default: model.encoding's default", show_default=False)
    ] = None,
    out: Annotated[Path | None, typer.Option(help="file to write; default configs/NAME.yaml", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
    from_: Annotated[
        Path | None,
        typer.Option("--from", help="start from this config or run folder (e.g. configs/hello_rnn.yaml) instead of the defaults"),
    ] = None,
) -> None:
    """Write a commented starter config: every key with its value (the defaults, or --from CONFIG's) and what it means."""
    from rnnlab.commands.init import write_starter

    path = write_starter(name, dataset, layer, encoding, out, force, from_)
    typer.echo(f"Wrote {path}; check it with `rnnlab config {path}`, train with `rnnlab train {path}`")


@app.command()
@handled
def verify(
    run_dir: Annotated[
        Path | None,
        typer.Argument(help="a trained run (checkpoints/<name>, or its config) whose layers to check", show_default=False),
    ] = None,
    seed: Annotated[int, typer.Option(help="seed for the random weights and the input batch")] = 0,
    tolerance: Annotated[float, typer.Option(help="largest |Keras − NumPy| difference that counts as agreement", min=0.0)] = 1e-4,
    lesson: Annotated[bool, typer.Option("--lesson", help="only the lesson's hand-worked SimpleRNN(3)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check Keras's SimpleRNN/LSTM/GRU against the textbook equations in NumPy; exit 1 if any differ."""
    from rnnlab.commands.verify import verify as run_verify

    result = run_verify(run_dir, seed=seed, tolerance=tolerance, lesson_only=lesson)
    typer.echo(json_text(result.as_dict(), indent=2) if as_json else result.text(), nl=as_json)
    if not result.passed:
        raise typer.Exit(1)


@app.command("inspect")
@handled
def inspect_command(
    target: TargetArg,
    input_: Annotated[
        str | None,
        typer.Option("--input", "-i", help="the one input to trace, as `predict --prefix` takes it", show_default=False),
    ] = None,
    embeddings: Annotated[
        bool, typer.Option("--embeddings", help="draw the learned Embedding vectors instead (PCA to 2-D beyond 2 dimensions)")
    ] = False,
    gradients: Annotated[
        bool, typer.Option("--gradients", help="draw ‖∂loss/∂h_t‖ against t for a batch (vanishing gradients; loads TensorFlow)")
    ] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="--embeddings: label this many tokens (the most frequent first)")] = 30,
    out: Annotated[Path | None, typer.Option(help="folder for the PNGs; default RUN/inspect/", show_default=False)] = None,
    as_json: JsonOpt = False,
    set_: SetOpt = None,
) -> None:
    """See inside a trained run: each recurrent layer's hidden state and gates over one input's steps, and its answer,
    as heatmaps (or --embeddings: the learned token vectors in the plane)."""
    from rnnlab.commands.inspect import inspect_run

    found = inspect_run(target, input_, embeddings=embeddings, gradients=gradients, top=top, out=out, overrides=tuple(set_ or []))
    typer.echo(json_text(found.as_dict()) if as_json else "\n".join(found.text_lines()))


@app.command()
@handled
def show(
    config: TargetArg,
    index: Annotated[int, typer.Option("--index", "-i", help="which sample, counting from 0", min=0)] = 0,
    split: Annotated[str, typer.Option(help="train, validation or test")] = "train",
    as_json: JsonOpt = False,
    set_: SetOpt = None,
) -> None:
    """Decode one sample of the data back to words (IMDB: review N of the training split; others: input and target)."""
    from rnnlab.commands.show import show_example
    from rnnlab.config import load_target

    check_split(split)
    example = show_example(load_target(config, set_ or []), index, split)
    if as_json:
        typer.echo(json_text(example.as_dict()))
        return
    size = f"{len(example.ids)} ids" if example.ids else "vectors"
    typer.echo(f"{example.split} #{index} ({example.label}, {size}): {example.text}")


def main() -> None:
    app()
