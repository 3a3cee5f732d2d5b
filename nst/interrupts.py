"""Ctrl-C, SIGTERM or a Stop button as a request to stop a long loop after its current step, so that the step's work is saved."""

import signal


class StopRequest:
    """SIGINT and SIGTERM ask the loop to stop after the current iteration instead of killing the process.

    Used as a context manager around the loop, which polls requested(); signal_number says
    which signal came (the exit code is 128 + it). A second Ctrl-C raises KeyboardInterrupt
    at once. Outside the context manager no handler is installed, and request() is the only
    way to ask: the web page gives each run its own StopRequest and its Stop button calls it
    (from another thread; the loop sees it after the current iteration, as it sees a signal).
    """

    def __init__(self):
        self.signal_number = None
        self._asked = False
        self._previous = {}

    def __enter__(self):
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            self._previous[signal_number] = signal.signal(signal_number, self._handle)
        return self

    def __exit__(self, *exception):
        for signal_number, handler in self._previous.items():
            signal.signal(signal_number, handler)

    def _handle(self, signal_number, frame):
        if self.signal_number is not None and signal_number == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: the user does not want to wait
        self.signal_number = signal_number

    def request(self):
        """Asks the loop to stop after its current step, as a signal would (signal_number stays None)."""
        self._asked = True

    def requested(self):
        return self._asked or self.signal_number is not None
