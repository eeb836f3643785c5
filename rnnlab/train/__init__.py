"""The training stage: the trainer, its callbacks, interrupt and resume, input pipelines, strategies."""
