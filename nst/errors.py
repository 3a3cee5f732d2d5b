"""The project's errors and exit codes, and the one place where an error becomes a one-line message and an exit code.

Every error a user can cause or fix is an NSTError: its message names the file or the setting and
the problem, on one line; its hint, where there is one, says how to fix it. Entry points (nst_main.py,
fast_main.py, coursera_check.py, web_main.py, python -m nst.compare) run their work through
run_entry_point, which turns an NSTError into that line on stderr and the error's exit code, and
report outcomes that are not errors (a cost that became non-finite, a check that failed) with report.
"""

import sys

# The exit codes of every entry point (README.md, "Exit codes").
EXIT_OK = 0
EXIT_BAD_INPUT = 1  # bad input or setup: a file, a flag, weights, an output folder
EXIT_NON_FINITE = 3  # a cost (or, in training, a loss) became non-finite; the last finite result is kept
EXIT_CHECK_FAILED = 4  # numbers outside their tolerance: an export against its Keras model, the Coursera check
EXIT_WRITE_FAILED = 5  # a file could not be written during a run (disk full, folder gone or read-only)
EXIT_ENDED_EARLY = 6  # an optimiser ended before its iterations at a limit; its result is kept
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention; SIGTERM gives 143 (128 + 15)


class NSTError(ValueError):
    """An error the user can fix; str() is one line naming the file or setting and the problem.

    hint, when set, is a second line saying how to fix it. exit_code is what an entry point
    exits with (EXIT_BAD_INPUT unless a subclass says otherwise).
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message, hint=None):
        super().__init__(" ".join(str(message).split()))  # third-party details may hold newlines
        self.hint = hint


class ConfigError(NSTError):
    """A configuration value that cannot be used; the message names the setting."""


class _PathError(NSTError):
    """An error about one file or folder: the message reads "<path>: <problem>"."""

    def __init__(self, path, problem, hint=None):
        problem = " ".join(str(problem).split())
        super().__init__(f"{path}: {problem}", hint)
        self.path = path
        self.problem = problem


class ImageError(_PathError):
    """An image cannot be used."""


class WeightsError(NSTError):
    """Weights that cannot be found or read; the message names the file and the problem."""


class OutputError(_PathError):
    """An output file or folder cannot be used (checked before a run starts)."""

    def __init__(self, folder, problem, hint=None):
        super().__init__(folder, problem, hint)
        self.folder = folder


class WriteError(OutputError):
    """A file of a run could not be written while the run went on; what was written before is kept."""

    exit_code = EXIT_WRITE_FAILED


class TrainingDataError(_PathError):
    """A folder of training images that cannot feed a run."""

    def __init__(self, folder, problem, hint=None):
        super().__init__(folder, problem, hint)
        self.folder = folder


class FastTrainingError(NSTError):
    """Feed-forward training cannot start or go on."""


class CheckpointError(NSTError):
    """No training checkpoint can be resumed from, or one does not fit the network; the message names the file."""


class DistributionError(NSTError):
    """A tf.distribute setting that cannot be used here."""


class TransformNetError(NSTError):
    """A transformation network (or its file) that cannot be built or read."""


class StylizeError(_PathError):
    """An input that cannot be stylised by a feed-forward network."""


class VideoError(_PathError):
    """A video that cannot be read or written."""


class ExportError(NSTError):
    """An export that cannot be written or run."""


class TorchUnavailableError(NSTError):
    """PyTorch is not installed; the message says how to install the optional extra."""


def report(program, message, exit_code=None, stream=None):
    """Prints `program: error: message` (and `program: hint: …` when message carries a hint); returns the exit code.

    message is an NSTError (its exit code is the default) or text for an outcome that is not an
    error class (then exit_code is required).
    """
    stream = stream or sys.stderr
    print(f"{program}: error: {message}", file=stream, flush=True)
    hint = getattr(message, "hint", None)
    if hint:
        print(f"{program}: hint: {hint}", file=stream, flush=True)
    if exit_code is None:
        exit_code = message.exit_code
    return exit_code


def run_entry_point(program, function, *arguments):
    """Calls function(*arguments) and returns its exit code; an NSTError or a Ctrl-C becomes one line and a code.

    A Ctrl-C that reaches here (before a run could take it, or a second one) has nothing to save.
    """
    try:
        return function(*arguments)
    except NSTError as error:
        return report(program, error)
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED


def absl_main(program, function, *arguments):
    """An absl app.run main for a command without positional arguments: run_entry_point(program, function, …)."""

    def main(argv):
        if len(argv) > 1:
            return report(program, f"unexpected arguments: {' '.join(argv[1:])} (flags start with --)",
                          EXIT_BAD_INPUT)
        return run_entry_point(program, function, *arguments)

    return main


HELP_ARGUMENTS = ("-h", "-help", "--help", "-?", "--helpshort", "--helpfull")


def parse_own_flags(program, usage, own_flags, argv):
    """An absl flags_parser for a command whose flags live in their own FlagValues (own_flags).

    Parses absl's own flags (--flagfile, --verbosity, …), then the command's; returns what is left
    ([program, …]). --help prints usage and the command's flags only; a bad flag is one line and
    exit code 1.
    """
    from absl import flags

    if any(argument in HELP_ARGUMENTS for argument in argv[1:]):
        print(f"{usage}\n\nflags:\n{own_flags.get_help()}")
        sys.exit(0)
    try:
        remaining = flags.FLAGS(argv, known_only=True)
        return own_flags(remaining)
    except flags.Error as error:
        sys.exit(report(program, str(error), EXIT_BAD_INPUT))
