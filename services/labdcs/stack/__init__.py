"""The native runner: the same stack as the compose files, as local processes, without Docker."""
