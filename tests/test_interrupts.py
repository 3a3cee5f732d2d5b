"""nst.interrupts: a first SIGINT or SIGTERM is a request to stop; a second Ctrl-C stops at once."""

import os
import signal
import time

import pytest

from nst import interrupts


def deliver(signal_number):
    """Sends a signal to this process and gives Python the moment it needs to run the handler."""
    os.kill(os.getpid(), signal_number)
    time.sleep(0.05)


def test_a_signal_asks_the_loop_to_stop_and_a_second_ctrl_c_does_not_wait():
    previous = signal.getsignal(signal.SIGINT)
    with interrupts.StopRequest() as stop:
        assert not stop.requested()
        deliver(signal.SIGTERM)
        assert stop.requested() and stop.signal_number == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            deliver(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous  # the handlers are put back


def test_sigint_gives_the_shells_exit_code():
    with interrupts.StopRequest() as stop:
        deliver(signal.SIGINT)
    assert 128 + stop.signal_number == 130


def test_a_stop_button_asks_without_a_signal_and_installs_no_handler():
    previous = signal.getsignal(signal.SIGINT)
    stop = interrupts.StopRequest()
    assert not stop.requested()
    stop.request()
    assert stop.requested() and stop.signal_number is None
    assert signal.getsignal(signal.SIGINT) is previous
