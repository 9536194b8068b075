"""The `townhall` command: serve, migrate, bench."""
