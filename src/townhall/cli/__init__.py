"""The `townhall` command: serve, migrate, bench."""


def run() -> None:
    """The console script's entry point, in a module that imports nothing: the classifier
    worker, a spawned process, imports the script's module again, and with the CLI's it would
    load the whole server it never runs (~40 MB)."""
    from townhall.cli.main import run as run_cli

    run_cli()
