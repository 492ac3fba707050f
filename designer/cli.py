"""Subcommands of this stage (filled in as the stage lands)."""


def register(subparsers) -> None:
    """Add this stage's subcommands to the tunerig parser."""
