"""The run folder stage: ``checkpoints/<name>/`` named, read, opened and drawn in one place.

It sits below the trainer, which fills a run folder, and the commands, which read one."""
