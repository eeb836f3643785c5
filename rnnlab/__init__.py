"""rnnlab: train and study recurrent networks from a YAML config."""

__version__ = "0.1.0"
