"""The plain-Python tokenizer is Keras's TextVectorization: the same standardized words, the same
learned vocabulary, the same ids and padding, on a few hundred generated reviews with the awkward
characters real text holds (accents, apostrophes at word edges, other scripts, digits, emoji)."""

from __future__ import annotations

import random

import numpy as np

from rnnlab.data import text
from rnnlab.runtime import keras, tensorflow

ODD = [
    "café's", "naïve", "L'été", "don't", "'quoted'", "rock'n'roll", "80's", "_under_score", "x__y", "İstanbul",
    "ΣΟΦΊΑΣ", "Straße", "ǅemal", "١٢٣", "½", "😀", "a\u2019b", "it''s", "'", "''", "o'", "'o", "3'4", "é'a", "a'é",
    "<br />", "<BR/>", "<br  >", "\t", "\u3000", "\u00a0", "hello,world", "e-mail", "#1", "U.S.A.", "ŉ", "ﬁne", "日本語",
]  # fmt: skip
WORDS = ["great", "awful", "film", "The", "plot", "ACTORS", "it", "a", "and"]


def generated(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        pieces = [rng.choice(ODD if rng.random() < 0.3 else WORDS) for _ in range(rng.randint(0, 40))]
        glue = [rng.choice([" ", " ", "", ", ", ". ", "!", "'", "\n"]) for _ in pieces]
        out.append("".join(p + g for p, g in zip(pieces, glue)))
    return out


def keras_standardize(batch):
    tf = tensorflow()
    lowered = tf.strings.lower(batch, encoding="utf-8")
    breaks, drop = text.KERAS_STANDARDIZE
    return tf.strings.regex_replace(tf.strings.regex_replace(lowered, breaks, " "), drop, " ")


def test_words_and_ids_are_keras_textvectorization() -> None:
    tf = tensorflow()
    reviews = generated(400)
    standardized = [s.decode() for s in keras_standardize(tf.constant(reviews)).numpy()]
    assert [s.split() for s in standardized] == [text.words(r) for r in reviews]

    layer = keras().layers.TextVectorization(max_tokens=60, standardize=keras_standardize, output_mode="int", ragged=True)
    layer.adapt(tf.data.Dataset.from_tensor_slices(reviews).batch(64))
    vocabulary = text.learned_vocabulary(reviews, 60)
    assert layer.get_vocabulary()[2:] == vocabulary

    state = {
        "source": "text",
        "first_id": 2,
        "start_id": None,
        "oov_id": 1,
        "skip_top": 0,
        "num_words": 60,
        "vocabulary": vocabulary,
    }
    theirs = layer(tf.constant(reviews)).to_list()
    assert text.text_ids(reviews, state) == theirs
    for padding, truncating in (("pre", "pre"), ("post", "post"), ("pre", "post")):
        expected = keras().utils.pad_sequences(theirs, maxlen=12, padding=padding, truncating=truncating, value=0, dtype="int32")
        np.testing.assert_array_equal(text.padded(theirs, 12, padding, truncating), expected)
