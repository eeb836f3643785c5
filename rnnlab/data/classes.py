"""Scores of a classifier by class: precision, recall, F1 and support of each, macro F1, the
majority-class baseline, a confusion matrix, its picture and its table (``Dataset.report``, ``evaluate``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[true class, predicted class]."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(truth, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return counts


def majority(labels: np.ndarray) -> int:
    """The commonest label (the smallest of equals): what a majority-class baseline always answers."""
    values, counts = np.unique(np.asarray(labels, dtype=np.int64), return_counts=True)
    return int(values[np.argmax(counts)]) if len(values) else 0


def majority_accuracy(train: np.ndarray, truth: np.ndarray) -> tuple[int, float]:
    """The training labels' commonest class and the accuracy of answering it for every label of
    ``truth``; 2-D labels (one per time step) get each position's own commonest class."""
    train, truth = np.asarray(train, dtype=np.int64), np.asarray(truth, dtype=np.int64)
    if truth.ndim == 1:
        answer = majority(train)
        return answer, round(float(np.mean(truth == answer)), 6) if truth.size else 0.0
    overall = majority(train)
    steps = truth.shape[1]
    per_position = np.array([majority(train[:, t]) if t < train.shape[1] else overall for t in range(steps)])
    return overall, round(float(np.mean(truth == per_position[None, :])), 6) if truth.size else 0.0


def _ratio(top: float, bottom: float) -> float:
    return round(top / bottom, 6) if bottom else 0.0


def scores(truth: np.ndarray, predicted: np.ndarray, labels: list[str], split: str) -> dict[str, Any]:
    """What ``metrics.json`` holds under ``classification``: accuracy, each class's precision,
    recall, F1 and support, macro F1, the majority class's accuracy (always answering the commonest
    true class of this split) and the confusion matrix (rows true, columns predicted)."""
    counts = confusion(truth, predicted, len(labels))
    per_class = {}
    for i, name in enumerate(labels):
        hit, said, there = int(counts[i, i]), int(counts[:, i].sum()), int(counts[i].sum())
        precision, recall = _ratio(hit, said), _ratio(hit, there)
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": _ratio(2 * precision * recall, precision + recall),
            "support": there,
        }
    total = int(counts.sum())
    commonest = majority(truth)
    return {
        "split": split,
        "samples": total,
        "accuracy": _ratio(float(np.trace(counts)), total),
        "macro_f1": round(float(np.mean([c["f1"] for c in per_class.values()])), 6) if per_class else 0.0,
        "majority_class": labels[commonest] if labels else "",
        "majority_accuracy": _ratio(float(counts[commonest].sum()), total),
        "per_class": per_class,
        "confusion": counts.tolist(),
    }


def table(result: dict[str, Any]) -> list[str]:
    """The per-class table people read after ``train`` and ``evaluate``."""
    per_class = result["per_class"]
    width = max([len("class"), *(len(name) for name in per_class)])
    lines = [
        f"Per class ({result['split']}, {result['samples']:,} samples):",
        f"  {'class':<{width}}  precision  recall      f1  support",
    ]
    for name, c in per_class.items():
        lines.append(f"  {name:<{width}}  {c['precision']:9.4f}  {c['recall']:6.4f}  {c['f1']:6.4f}  {c['support']:7,}")
    lines.append(
        f"Accuracy {result['accuracy']:.4f}, macro F1 {result['macro_f1']:.4f}; "
        f"majority baseline ({result['majority_class']}) {result['majority_accuracy']:.4f}"
    )
    return lines


def figure(result: dict[str, Any], title: str) -> Any:
    """``confusion.png``: true class down, predicted class across, every cell's count written in it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.array(result["confusion"])
    names = list(result["per_class"])
    side = max(4.0, 0.6 * len(names) + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="samples")
    ax.set_xticks(range(len(names)), labels=names, rotation=45 if max(map(len, names)) > 6 else 0, ha="right")
    ax.set_yticks(range(len(names)), labels=names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    threshold = counts.max() / 2 if counts.size else 0
    for (row, column), count in np.ndenumerate(counts):
        ax.text(column, row, f"{count:,}", ha="center", va="center", color="white" if count > threshold else "black")
    ax.set_title(f"{title}\naccuracy {result['accuracy']:.3f}, macro F1 {result['macro_f1']:.3f} ({result['split']})")
    fig.tight_layout()
    return fig
