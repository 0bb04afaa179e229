"""The exceptions users see, each carrying one clear message and an exit code.

Every user mistake becomes an :class:`InputError` (exit 1); a model that cannot be
satisfied becomes an :class:`InfeasibleError` (exit 2). Anything else that escapes is
a bug and the command reports it as an internal error (exit 3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is, what is wrong, how to fix it."""

    file: str
    where: str
    what: str
    fix: str

    def __str__(self) -> str:
        location = f"{self.file}: {self.where}" if self.where else self.file
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{location}: {self.what}.{fix}"


class OptimizerError(Exception):
    """Base class of the errors the command turns into a message and an exit code."""

    exit_code = 3


class InputError(OptimizerError, ValueError):
    """Bad input: a missing file, a wrong field, an unknown key, a bad value.

    Holds every problem found, so that ``optimizer validate`` can report all of
    them at once.
    """

    exit_code = 1

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(file="", where="", what=problems, fix="")]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.render())

    @classmethod
    def one(cls, file: str, where: str, what: str, fix: str) -> InputError:
        """Build an error holding a single problem."""
        return cls([Problem(file=file, where=where, what=what, fix=fix)])

    def render(self) -> str:
        """All problems, one per line, prefixed with a count when there are several."""
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems found:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class InfeasibleError(OptimizerError):
    """The model has no solution; the message says which constraint binds."""

    exit_code = 2


class VerificationError(OptimizerError):
    """A solver returned a solution that the independent checker rejects (a bug)."""

    exit_code = 3
