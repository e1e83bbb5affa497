"""One module per command; each exposes `run(options) -> exit code`."""
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
