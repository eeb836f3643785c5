"""OneHotSimpleRNN is SimpleRNN on one-hot vectors, computed by gathering kernel rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.model.layers import OneHotSimpleRNN, custom_objects
from rnnlab.runtime import keras, tensorflow


def pair(vocab: int = 7, units: int = 4, steps: int = 5) -> tuple[object, object]:
    k = keras()
    gathered = k.Sequential([k.Input((steps,), dtype="int32"), OneHotSimpleRNN(units, vocab_size=vocab, return_sequences=True)])
    plain = k.Sequential([k.Input((steps, vocab)), k.layers.SimpleRNN(units, return_sequences=True)])
    plain.set_weights(gathered.get_weights())
    return gathered, plain


def test_same_outputs_gradients_and_parameters_as_simple_rnn_on_one_hot() -> None:
    tf = tensorflow()
    gathered, plain = pair()
    ids = np.random.default_rng(0).integers(0, 7, (3, 5)).astype("int32")
    onehot = np.eye(7, dtype="float32")[ids]
    assert gathered.count_params() == plain.count_params() == 4 * (7 + 4 + 1)
    grads = []
    for model, x in ((gathered, ids), (plain, onehot)):
        with tf.GradientTape() as tape:
            out = model(x)
            loss = tf.reduce_sum(out**2)
        grads.append([tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, model.trainable_variables)])
        np.testing.assert_allclose(np.asarray(out), np.asarray(plain(onehot)), atol=1e-6)
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_saves_and_loads_in_safe_mode(tmp_path: Path) -> None:
    gathered, _ = pair()
    path = tmp_path / "m.keras"
    gathered.save(path)
    loaded = keras().saving.load_model(path, safe_mode=True, custom_objects=custom_objects())
    ids = np.arange(10).reshape(2, 5) % 7
    np.testing.assert_allclose(np.asarray(loaded(ids)), np.asarray(gathered(ids)), atol=1e-6)
