"""Runs web_main.py (with this script's arguments) and prints a line for every connection it opens to another machine.

A test aid: Python's audit hooks see each socket.connect and name lookup, so the browser tests can
assert that the server itself sends nothing off the machine (telemetry, version checks, fonts).
"""

import pathlib
import runpy
import sys

_LOCAL_PREFIXES = ("127.", "::1", "localhost", "/")


def _report_remote(event, arguments):
    if event == "socket.connect":
        address = arguments[1]
        host = str(address[0] if isinstance(address, tuple) else address)
        if not host.startswith(_LOCAL_PREFIXES):
            print(f"OUTBOUND connection to {address}", flush=True)
    elif event == "socket.getaddrinfo":
        host = arguments[0]
        if host is not None and not str(host).startswith(_LOCAL_PREFIXES):
            print(f"OUTBOUND name lookup of {host}", flush=True)


if __name__ == "__main__":
    sys.addaudithook(_report_remote)
    script = pathlib.Path(__file__).resolve().parents[2] / "web_main.py"
    sys.argv = [str(script), *sys.argv[1:]]
    sys.path.insert(0, str(script.parent))
    runpy.run_path(str(script), run_name="__main__")
