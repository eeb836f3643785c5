"""The verbs besides ``train``, each a library function the CLI calls and renders: predict, evaluate,
show, runs, export, verify, summary, init. They read run folders; none imports the trainer."""
