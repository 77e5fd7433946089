"""How every `anima` command reports problems: one line on standard error and a shared exit status.

- 0: done, nothing to report.
- 1: findings at or above the failure level, or the work could not be done (a malformed input file, a
  corrupt index, a failed download, a full disk, nothing found).
- 2: the command line is wrong (an unknown option, a bad value, a named file that does not exist,
  conflicting options); the line ends with where the usage is shown.
- 130 / 143: interrupted by Ctrl-C / terminated by SIGTERM; files being written are left as they were.

Errors print as `anima <command>: error: <what> ...; <what to do>`, warnings that library code logs as
`anima <command>: warning: ...`. An exception nobody expected prints one `internal error` line (set
`ANIMA_DEBUG=1` to see the traceback instead).
"""

import errno
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from types import FrameType

import click

PROGRAM = "anima"
ENGINE_EXTRA = "pip install 'anima-toolkit[engine]'"
DEBUG_ENV = "ANIMA_DEBUG"
INTERRUPTED = 130
TERMINATED = 143
LOGGERS = ("anima_prompt", "anima_engine")
"""Loggers whose warnings the commands show on standard error."""

_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


class EngineMissing(click.ClickException):
    """An engine command was asked for, but the `engine` extra is not installed."""

    def __init__(self, command: str) -> None:
        super().__init__(f"this command needs the engine extra: {ENGINE_EXTRA}")
        self.command = command


class Terminated(BaseException):
    """SIGTERM arrived; raised so that `finally` blocks remove temporary files on the way out."""


def command_path(group: click.Group, argv: Sequence[str]) -> str:
    """`anima` and the subcommand names at the start of `argv`, e.g. `anima index build`."""
    names = [PROGRAM]
    command: click.Command = group
    for token in argv:
        if not isinstance(command, click.Group) or token.startswith("-"):
            break
        try:
            found = command.get_command(click.Context(command), token)
        except EngineMissing:
            names.append(token)
            break
        except (click.ClickException, ImportError):
            break
        if found is None:
            break
        names.append(token)
        command = found
    return " ".join(names)


def one_line(message: str) -> str:
    """The first non-blank line of `message` (error texts of user input may carry a context excerpt)."""
    lines = re.split(r"\r\n|\r|\n", message)  # not str.splitlines: it also splits at \x1c-\x1e, \x85, ...
    return next((line.strip() for line in lines if line.strip()), "unknown error")


def os_error_message(error: OSError) -> str:
    """An OS error as `<file>: <reason>; <what to do>`."""
    where = f"{error.filename}: " if error.filename else ""
    reason = error.strerror or str(error)
    if error.errno in _SPACE:
        return f"{where}{reason}; free some space (or raise the file size limit) and run again"
    if error.errno in _PERMISSION:
        return f"{where}{reason}; check the permissions of the file and its folder"
    return f"{where}{reason}"


@contextmanager
def usage_errors() -> Generator[None]:
    """Report a library error about the command line (an option's value, the configuration) as a usage
    error (exit 2) instead of a failed piece of work (exit 1)."""
    try:
        yield
    except _domain_errors() as error:
        raise click.UsageError(one_line(str(error))) from None


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _sigterm_raises() -> Generator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


class _OneLine(logging.Formatter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.prefix}: {record.levelname.lower()}: {one_line(record.getMessage())}"


@contextmanager
def _warnings_on_stderr(prefix: str) -> Generator[None]:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine(prefix))
    handler.setLevel(logging.WARNING)
    loggers = [logging.getLogger(name) for name in LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _fail(prefix: str, message: str, status: int) -> SystemExit:
    click.echo(f"{prefix}: {message}", err=True)
    return SystemExit(status)


def _silence_stdout() -> None:
    """After a broken pipe (`anima ... | head`), point stdout at the null device so exiting stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


@contextmanager
def handled_errors(group: click.Group, args: Sequence[str] | None) -> Generator[None]:
    """Run a command line's work, turning every exception into one line and an exit status."""
    argv = list(sys.argv[1:] if args is None else args)
    prefix = command_path(group, argv)
    try:
        with _sigterm_raises(), _warnings_on_stderr(prefix):
            yield
    except click.UsageError as error:
        parser_error = type(error) is not click.UsageError  # click's own: say where the usage is shown
        hint = f" (see '{prefix} --help')" if parser_error else ""
        raise _fail(prefix, f"error: {one_line(error.format_message())}{hint}", error.exit_code) from None
    except click.ClickException as error:
        raise _fail(prefix, f"error: {one_line(error.format_message())}", error.exit_code) from None
    except click.Abort as error:
        cause = error.__cause__
        if isinstance(cause, KeyboardInterrupt):
            raise _fail(prefix, "interrupted", INTERRUPTED) from None
        if cause is not None:  # click turns an EOFError from anywhere into Abort
            raise _fail(prefix, _internal(cause), 1) from None
        raise _fail(prefix, "aborted", 1) from None
    except KeyboardInterrupt:
        raise _fail(prefix, "interrupted", INTERRUPTED) from None
    except Terminated:
        raise _fail(prefix, "terminated", TERMINATED) from None
    except BrokenPipeError:
        _silence_stdout()
        raise SystemExit(1) from None
    except OSError as error:
        raise _fail(prefix, f"error: {os_error_message(error)}", 1) from None
    except Exception as error:
        if isinstance(error, _domain_errors()):
            raise _fail(prefix, f"error: {one_line(str(error))}", 1) from None
        if os.environ.get(DEBUG_ENV):
            raise
        raise _fail(prefix, _internal(error), 1) from None


def _domain_errors() -> tuple[type[Exception], ...]:
    """The packages' root errors: problems with the work, not bugs. The engine's only once it is loaded."""
    from anima_prompt.errors import AnimaPromptError

    engine = sys.modules.get("anima_engine.errors")
    return (AnimaPromptError,) if engine is None else (AnimaPromptError, engine.AnimaEngineError)


def _internal(error: BaseException) -> str:
    return (
        f"internal error: {type(error).__name__}: {one_line(str(error))}; please report it with the "
        f"command line ({DEBUG_ENV}=1 shows the traceback)"
    )
