"""The local console: the executions of the embedded AWS in a browser (served by `local serve`)."""
