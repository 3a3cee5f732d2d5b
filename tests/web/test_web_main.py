"""web_main.py: flags become the WebConfig; a bad flag or a busy port is one line and exit code 1, before any import."""

import socket
import subprocess
import sys

import pytest

import web_main
from browser_harness import PROJECT_DIR
from nst import errors


@pytest.fixture
def parse(monkeypatch):
    monkeypatch.delenv(web_main.PASSWORD_VARIABLE, raising=False)

    def parse_arguments(*arguments):
        web_main.FLAGS.unparse_flags()
        web_main.FLAGS(["web_main.py", *arguments])
        return web_main.config_from_flags(web_main.FLAGS)

    yield parse_arguments
    web_main.FLAGS.unparse_flags()


def test_the_flags_become_the_config(parse):
    config = parse("--port", "8000", "--max_upload_mb", "5", "--max_pixels", "4000000", "--models_dir", "nets")
    assert (config.host, config.port, config.max_upload_bytes, config.max_pixels, config.models_dir) == (
        "127.0.0.1", 8000, 5 * 1024 * 1024, 4_000_000, "nets")
    assert config.weights is None and config.allow_download and config.password is None


def test_weights_given_explicitly_are_every_runs_and_not_given_leave_each_presets(parse):
    assert parse().weights is None
    assert parse("--weights", "imagenet").weights == "imagenet"
    assert parse("--weights", "random", "--nodownload").weights == "random"
    assert not parse("--nodownload").allow_download


def test_the_password_comes_from_a_file_or_the_environment(parse, tmp_path, monkeypatch):
    secret = tmp_path / "password.txt"
    secret.write_text("correct horse\nignored\n")
    assert parse("--password_file", str(secret)).password == "correct horse"
    monkeypatch.setenv(web_main.PASSWORD_VARIABLE, "battery staple")
    assert parse().password == "battery staple"
    with pytest.raises(errors.ConfigError, match="--password_file .*missing.txt: cannot read it"):
        parse("--password_file", str(tmp_path / "missing.txt"))


def run_web_main(*arguments):
    return subprocess.run([sys.executable, "web_main.py", *arguments], cwd=PROJECT_DIR, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("arguments, line", [
    (["--port", "70000"], "web_main.py: error: --port must be at most 65535, got 70000"),
    (["--host", "0.0.0.0"], "web_main.py: error: --host '0.0.0.0' listens on every interface"),
    (["--port", "seven"], "web_main.py: error: flag --port=seven: invalid literal for int() with base 10: 'seven'"),
    (["--colour", "red"], "web_main.py: error: Unknown command line flag 'colour'"),
    (["serve"], "web_main.py: error: unexpected arguments: serve (flags start with --)"),
])
def test_a_bad_flag_is_one_line_and_exit_code_1(arguments, line):
    finished = run_web_main(*arguments)
    assert finished.returncode == 1 and finished.stdout == ""
    assert finished.stderr.startswith(line) and finished.stderr.count("\n") == 1, finished.stderr


def test_a_port_in_use_is_one_line_a_hint_and_exit_code_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = run_web_main("--port", str(port), "--weights", "random")
    assert finished.returncode == 1
    assert finished.stderr.splitlines() == [
        f"web_main.py: error: port {port} on 127.0.0.1 is in use (another server, or this one running already)",
        f"web_main.py: hint: stop that one, or choose another: --port {port + 1}"]


def test_help_lists_the_flags_and_opens_nothing():
    finished = run_web_main("--help")
    assert finished.returncode == 0
    for flag in ("--host", "--port", "--weights", "--models_dir", "--max_upload_mb", "--max_pixels", "--password_file"):
        assert flag in finished.stdout
