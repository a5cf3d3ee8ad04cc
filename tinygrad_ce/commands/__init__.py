"""The commands of ``tinygrad-ce``, one module each (``demo``, ``train``, ``compare``); each
has ``add_arguments(parser)`` and ``run(args) -> exit status``. ``tinygrad_ce.cli`` parses
and dispatches."""
