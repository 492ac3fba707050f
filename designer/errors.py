"""One error type for everything a user can get wrong: the message names the file, field, line or unit."""
from __future__ import annotations


class TunerigError(Exception):
    """A user-facing error. The CLI prints it as one line and exits with status 2."""


class InputError(TunerigError):
    """Bad input data: says where (file, line, field) and what was expected."""

    def __init__(self, message: str, *, file=None, line: int | None = None, field: str | None = None):
        where = []
        if file is not None:
            where.append(str(file) + (f":{line}" if line is not None else ""))
        elif line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        self.file, self.line, self.field = file, line, field
        super().__init__((", ".join(where) + ": " if where else "") + message)


def read_toml(path, what: str) -> dict:
    """Parse a TOML file; a missing file or a syntax error is an InputError naming the file (and,
    from tomllib's message, the line and column)."""
    import tomllib
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such {what} file", file=path)
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", file=path) from None
