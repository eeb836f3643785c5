"""The model stage: the Keras model a config describes, its one custom layer, and the NumPy engine
that runs a trained model without TensorFlow."""
