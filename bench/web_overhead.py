"""Seconds per iteration through the web page against nst_main.py at 400×300, alternately, in one run.

Usage: python bench/web_overhead.py [--rounds 3] [--iterations 30] [--snapshots 10,1]

The page is driven as a user drives it: a web_main.py --weights random server (the plain one, not
the browser tests' audited wrapper) and a headless chromium (Debian's, through Playwright) on this
machine, which start a run with the sample images and wait for "Done". The command line is
python nst_main.py --weights random with the same settings. Both runs are nst.runs runs, and both
are timed the same way, from the run.json they write: the optimisation's seconds between the
snapshot at iteration 0 (after the first step, so TensorFlow's tracing is excluded) and the last
one, per iteration. Whatever the page costs while the image is optimised (copying each snapshot
into Gradio's cache, the event stream, the browser drawing the preview, the plot and the progress
display on the same two cores) slows those seconds down. Start-up costs (TensorFlow's import for
the command line, reading the inputs) are outside both.

--snapshots lists the snapshot intervals to measure (print_every): 10 is a typical run, 1 the
page's worst case (a preview and a plot at every iteration). Command line and page alternate in
each round, so a shared machine's drifts hit both alike; medians are reported.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # for this script and the nst_main.py runs it starts
ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "web"))

import browser_harness  # noqa: E402  (the browser tests' server and chromium launcher)

from nst import environment  # noqa: E402
from nst import quiet_tensorflow  # noqa: E402


def seconds_per_iteration(record):
    """Optimisation seconds per iteration between the first and the last snapshot of a run.json."""
    snapshots = sorted(record["snapshots"], key=lambda entry: entry["iteration"])
    first, last = snapshots[0], snapshots[-1]
    return (last["elapsed_seconds"] - first["elapsed_seconds"]) / (last["iteration"] - first["iteration"])


def command_line_run(folder, iterations, print_every):
    output = pathlib.Path(folder) / f"cli-{time.monotonic_ns()}"
    subprocess.run([sys.executable, "nst_main.py", "--weights", "random", "--epochs", str(iterations),
                    "--print_every", str(print_every), "--output_dir", str(output), "--quiet"],
                   cwd=ROOT, check=True)
    return seconds_per_iteration(json.loads((output / "run.json").read_text()))


def set_number(page, box, value):
    field = page.locator(f"#{box} input[type=number]").first
    field.fill(str(value))
    field.press("Enter")


def page_run(page, server, iterations, print_every):
    set_number(page, "iterations", iterations)
    set_number(page, "print_every", print_every)
    browser_harness.click_and_wait_for_status(page, "#start", "^Done:", timeout_seconds=600)
    records = list((server.root() / "sessions").glob("*/runs/**/run.json"))
    return seconds_per_iteration(json.loads(max(records, key=os.path.getmtime).read_text()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--snapshots", default="10,1", help="snapshot intervals (print_every) to measure")
    arguments = parser.parse_args()
    reason = browser_harness.skip_reason()
    if reason:
        sys.exit(f"bench/web_overhead.py: error: {reason}")
    from playwright.sync_api import sync_playwright

    quiet_tensorflow.import_tensorflow_quietly()  # for the machine's line at the end
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="web-bench-") as folder, sync_playwright() as playwright:
        server = browser_harness.Server(pathlib.Path(folder) / "server", "--weights", "random", audited=False)
        chromium = browser_harness.launch_chromium(playwright)
        try:
            page = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            page.goto(server.url + "/")
            page.wait_for_selector("#start")
            page_run(page, server, 2, 1)  # warm-up: the server's first run builds what later runs reuse
            for print_every in (int(value) for value in arguments.snapshots.split(",")):
                samples = {"command line": [], "page": []}
                for _ in range(arguments.rounds):
                    samples["command line"].append(command_line_run(folder, arguments.iterations, print_every))
                    samples["page"].append(page_run(page, server, arguments.iterations, print_every))
                    print(f"snapshot every {print_every}: " + ", ".join(
                        f"{name} {values[-1]:.3f}" for name, values in samples.items()), flush=True)
                medians = {name: statistics.median(values) for name, values in samples.items()}
                results.append({"print_every": print_every, "medians": medians, "samples": samples,
                                "page_over_command_line": medians["page"] / medians["command line"]})
        finally:
            chromium.close()
            server.stop()
    print(f"\nMachine: {environment.machine_summary()}; load average {load_before[0]:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    print(f"400×300, --weights random, {arguments.iterations} iterations, median of {arguments.rounds} "
          "alternating rounds")
    print("| snapshot every | command line s/iteration | page s/iteration | page / command line |")
    print("| --- | --- | --- | --- |")
    for row in results:
        print(f"| {row['print_every']} | {row['medians']['command line']:.3f} | {row['medians']['page']:.3f} | "
              f"{row['page_over_command_line']:.3f} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
