#!/usr/bin/env python3
"""Test-only trainer stand-in. Ignores its arguments; behaviour comes from PROBE_* environment variables
(set through the job's Environment):

PROBE_APPEND=<file>      append "<pid>\n" to the file at start (counts launches)
PROBE_ALIVE_DIR=<dir>    create <dir>/<pid> while running and print "alive=<n>" (n = files present after creating ours)
PROBE_CHILDREN=<n>       start n child processes ("sleep 300") and exit without waiting for them; prints "CHILD <pid>"
PROBE_SLEEP=<seconds>    sleep before exiting
PROBE_IGNORE_TERM=1      ignore SIGTERM
PROBE_SIGNAL=<n>         kill itself with signal n at the end
PROBE_EXIT=<code>        exit code (default 0)
Always prints one line "ENV <json of the environment>" first and "ARGV <json of argv[1:]>".
"""
import json
import os
import signal
import subprocess
import sys
import time

# Before any output: a test that saw the output may rely on SIGTERM being ignored already.
if os.environ.get("PROBE_IGNORE_TERM") == "1":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ENV " + json.dumps(dict(os.environ), sort_keys=True), flush=True)
print("ARGV " + json.dumps(sys.argv[1:]), flush=True)
print("CWD " + os.getcwd(), flush=True)
append = os.environ.get("PROBE_APPEND")
if append:
    with open(append, "a", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")
for _ in range(int(os.environ.get("PROBE_CHILDREN", "0"))):
    child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL)
    print(f"CHILD {child.pid}", flush=True)
alive_dir = os.environ.get("PROBE_ALIVE_DIR")
marker = None
if alive_dir:
    marker = os.path.join(alive_dir, str(os.getpid()))
    open(marker, "w").close()
    print(f"alive={len(os.listdir(alive_dir))}", flush=True)
try:
    time.sleep(float(os.environ.get("PROBE_SLEEP", "0")))
finally:
    if marker:
        os.remove(marker)
if os.environ.get("PROBE_SIGNAL"):
    sys.stdout.flush()
    os.kill(os.getpid(), int(os.environ["PROBE_SIGNAL"]))
    time.sleep(5)
sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
