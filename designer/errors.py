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
