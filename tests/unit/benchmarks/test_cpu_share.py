"""The streaming benchmark's account of who had the cores during a paced phase."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from tests.paths import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmarks import each other by module name

from cpu_share import CpuShare
from season_probe import process_tree

BUSY = "import time\nend = time.monotonic() + 30\nwhile time.monotonic() < end: pass\n"


def test_a_busy_worker_and_its_busy_child_are_counted_apart_and_an_idle_broker_is_not() -> None:
    """A "worker" that spins and has a spinning child, beside a "broker" that sleeps: each
    spinner shows most of a core (the machine allowing), the sleeper next to none."""
    spawn_child = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {BUSY!r}])\n{BUSY}"
    worker = subprocess.Popen([sys.executable, "-c", spawn_child])
    broker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)  # the child started
        share = CpuShare(worker.pid, broker.pid)
        share.start()
        time.sleep(1.5)
        share.stop()
    finally:
        for pid in process_tree(worker.pid)[1:]:
            os.kill(pid, signal.SIGKILL)
        for process in (worker, broker):
            process.kill()
            process.wait()
    cores = {name: seconds / share.wall for name, seconds in share.seconds.items()}
    assert cores["worker"] > 0.1 and cores["its detection process"] > 0.1  # most of a core on a quiet machine
    assert cores["broker"] < 0.05 and cores["publisher (this benchmark)"] < 0.3
    assert 0 < share.busy <= 1
    assert re.search(r"busy\): worker [01]\.\d\d, its detection process [01]\.\d\d, broker 0\.0", share.render())


def test_a_process_named_otherwise_and_shown_without_children_is_set_against_another() -> None:
    """The Faust floor's paced phase: one spinning process under its own name, no children
    line; `cores` reads its share, and the floor's line sets a worker's cores against it."""
    from floor_paced import render

    floor = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(0.3)
        share = CpuShare(floor.pid, None, name="Faust floor", children=None)
        share.start()
        time.sleep(1.5)
        share.stop()
    finally:
        floor.kill()
        floor.wait()
    assert set(share.seconds) == {"Faust floor", "broker", "the broker's JIT compilers", "publisher (this benchmark)"}
    cores = share.cores("Faust floor")
    assert 0.1 < cores <= 1.05 and share.cores("nobody") == 0.0
    line = render(share, 500, 2 * cores)
    assert "by the Faust floor reading the same events at 500/s" in line and f"Faust floor {cores:.2f}," in line
    assert "used 2.00 x the floor's cores" in line


COMPILER = (  # a thread named as a JVM names its optimising compiler's (Linux keeps 15 characters), spinning
    "import threading, time\n"
    "def spin():\n"
    "    open(f'/proc/self/task/{threading.get_native_id()}/comm', 'w').write('C2 CompilerThread0')\n"
    f"    {BUSY.replace(chr(10), chr(10) + '    ')}\n"
    "threading.Thread(target=spin).start()\n"
    "time.sleep(30)\n"
)


def test_the_broker_s_compiler_threads_are_shown_as_part_of_its_cores() -> None:
    """A "broker" whose only busy thread is named like a JVM's compiler: the broker's figure
    and the compilers' are the same core, and the line shows the compilers' beside it."""
    broker = subprocess.Popen([sys.executable, "-c", COMPILER])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)
        share = CpuShare(idle.pid, broker.pid)
        share.start()
        time.sleep(1.5)
        share.stop()
    finally:
        for process in (broker, idle):
            process.kill()
            process.wait()
    compilers, whole = share.cores("the broker's JIT compilers"), share.cores("broker")
    assert compilers > 0.1 and compilers <= whole + 0.02
    assert f"broker {whole:.2f} (its JIT compilers {compilers:.2f})," in share.render()
