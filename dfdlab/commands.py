"""Subcommands beyond ``doctor``/``assets``: data, train, eval, predict (filled in by their owners)."""


def add_subcommands(sub) -> None:
    pass
