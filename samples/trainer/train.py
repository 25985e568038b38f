#!/usr/bin/env python3
"""Demo trainer for VisionPlatform.Training (Python 3 standard library only).

It speaks both trainer contracts the SDK can launch:

* the documented flag contract (underscore flags, values as separate or ``=`` arguments):
  ``--framework --task_type --model_name --dataset_path --dataset_format --epochs --batch_size
  --learning_rate --optimizer --output_dir --job_id`` and the optional ``--num_classes --project_id
  --image_size --pretrained --checkpoint_path --resume --advanced_config <json object> --callback_url
  --job_type``;
* the newer contract: ``--job-id --model-name --dataset-s3-uri --callback-url --config <json>``
  (or ``--config @<path>`` for a config too large for one argument, or ``--config-file``) with environment fallbacks ``JOB_ID MODEL_NAME DATASET_S3_URI CALLBACK_URL
  CONFIG EPOCHS BATCH_SIZE LEARNING_RATE IMGSZ DEVICE FRAMEWORK TASK_TYPE``.

Precedence: an explicit flag, then the ``--config`` JSON, then the environment, then the default.

It trains something real but tiny: logistic regression by mini-batch gradient descent on seeded generated
data, so the loss falls. Per epoch it prints one machine-readable line

    VP_PROGRESS {"epoch": e, "total_epochs": n, "step": s, "metrics": {"loss": ..., "accuracy": ...}}

plus human log lines. Its files follow the SDK's artifact layout (docs/storage.md, ``ArtifactLayout``): per epoch
``checkpoints/checkpoint_epoch_<e>.json``, ``weights/last.json`` (also written on SIGTERM) and ``weights/best.json``
(the epoch with the lowest finite loss so far); at the end ``metrics.json``. ``run.json`` (the exact argv and the sorted environment variable *names*) is written at
start, so a test can read it even when the run is killed.

Exit codes: 0 success, 1 training failure, 2 bad input (one line on stderr), 143 after SIGTERM (a checkpoint
is written first), 130 after SIGINT.

Test and benchmark knobs: ``--workers N`` (child processes that behave like PyTorch data-loader workers: they
ignore SIGTERM, so only a process-group kill removes them when the main process is terminated),
``--epoch_seconds S``, ``--fail_at_epoch K``, ``--diverge_at_epoch K`` (from epoch K the loss is NaN, as in a
diverging run: the progress line leaves it out), ``--exit_code C``, ``--log_lines_per_epoch N`` and
``--log_bytes B`` (write B bytes of log lines to stdout as fast as possible, then exit 0). Each knob can also be
given as a key of ``--advanced_config`` (``{"workers": 2, "epoch_seconds": 1}``) or as ``VP_<KNOB>`` in the
environment (``VP_LOG_BYTES=1073741824``), because the SDK passes only the contract's flags.
"""

import argparse
import hashlib
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_SIGTERM = 143
EXIT_SIGINT = 130

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "auto")
JOB_TYPES = ("training", "evaluation", "inference", "export")
NUM_FEATURES = 8
DEFAULTS = {
    "framework": "custom",
    "task_type": "classification",
    "model_name": "logreg",
    "dataset_path": "generated",
    "dataset_format": "generated",
    "epochs": 10,
    "batch_size": 16,
    "learning_rate": 0.001,
    "optimizer": "adam",
    "job_type": "training",
}
KNOBS = (
    ("workers", int, 0),
    ("epoch_seconds", float, 0.0),
    ("fail_at_epoch", int, None),
    ("diverge_at_epoch", int, None),
    ("exit_code", int, 0),
    ("log_lines_per_epoch", int, 0),
    ("log_bytes", int, None),
)
# The SDK's artifact layout (ArtifactLayout.CheckpointsDirectory / WeightsDirectory): intermediate checkpoints and
# final weights go into these subfolders of the output directory; metrics.json and run.json stay at its root.
CHECKPOINTS_DIR = "checkpoints"
WEIGHTS_DIR = "weights"
# The file names of epoch checkpoints (also their names under TRAINING_CHECKPOINT_URI).
EPOCH_CHECKPOINT = re.compile(r"checkpoint_epoch_(\d+)\.json")
# Orphaned workers give up after this long, a safety net so a broken test cannot leak them forever.
WORKER_ORPHAN_SECONDS = 120.0


class BadInput(Exception):
    """Invalid input: reported as one line on stderr with exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; callers want exactly one line naming the flag."""

    def error(self, message):
        raise BadInput(message)


def build_parser():
    p = OneLineParser(prog="train.py", allow_abbrev=False, description=__doc__.split("\n\n")[0])
    # The documented flag contract.
    p.add_argument("--framework")
    p.add_argument("--task_type")
    p.add_argument("--model_name")
    p.add_argument("--dataset_path")
    p.add_argument("--dataset_format")
    p.add_argument("--epochs", type=int_value("--epochs"))
    p.add_argument("--batch_size", type=int_value("--batch_size"))
    p.add_argument("--learning_rate", type=float_value("--learning_rate"))
    p.add_argument("--optimizer")
    p.add_argument("--output_dir")
    p.add_argument("--job_id")
    p.add_argument("--num_classes", type=int_value("--num_classes"))
    p.add_argument("--project_id")
    p.add_argument("--image_size", type=int_value("--image_size"))
    p.add_argument("--pretrained", action="store_true", default=None)
    p.add_argument("--checkpoint_path")
    p.add_argument("--resume", action="store_true", default=None)
    p.add_argument("--advanced_config")
    p.add_argument("--callback_url")
    p.add_argument("--job_type")
    # The newer contract (distinct destinations so precedence can be resolved explicitly).
    p.add_argument("--job-id", dest="new_job_id")
    p.add_argument("--model-name", dest="new_model_name")
    p.add_argument("--dataset-s3-uri", dest="new_dataset_s3_uri")
    p.add_argument("--callback-url", dest="new_callback_url")
    p.add_argument("--config", dest="config_json")
    p.add_argument("--config-file", dest="config_file")
    # Test knob: wait before the first epoch until this file exists (a test holds a run at a known point).
    p.add_argument("--start_gate")
    # Test and benchmark knobs.
    # Test and benchmark knobs; each may also come from --advanced_config / --config advanced_config (same key)
    # or from the environment (VP_<KEY>), so they can be set through the SDK, which passes only the contract.
    for name, kind, _ in KNOBS:
        p.add_argument(f"--{name}", type=(float_value if kind is float else int_value)(f"--{name}"))
    # Hidden: the data-loader-like worker mode.
    p.add_argument("--_worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--_parent_pid", type=int, help=argparse.SUPPRESS)
    return p


def int_value(flag):
    def parse(text):
        try:
            return int(text)
        except ValueError:
            raise BadInput(f"{flag}: {text!r} is not an integer") from None

    return parse


def float_value(flag):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise BadInput(f"{flag}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise BadInput(f"{flag}: {text!r} must be a finite number")
        return value

    return parse


def parse_json_object(flag, text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"{flag}: invalid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(value, dict):
        raise BadInput(f"{flag}: must be a JSON object, got {type(value).__name__}")
    return value


def read_config_file(flag, path):
    """A config too large for one argument, passed as ``@path``; logs its size and SHA-256 so a test can compare it."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise BadInput(f"{flag}: cannot read {path!r} ({e.strerror})") from None
    log(f"config read from {path}: {len(raw)} bytes sha256={hashlib.sha256(raw).hexdigest()}")
    return raw.decode("utf-8")


def first(*values):
    for v in values:
        if v is not None:
            return v
    return None


def env_int(name):
    text = os.environ.get(name)
    return None if text in (None, "") else int_value(name)(text)


def env_float(name):
    text = os.environ.get(name)
    return None if text in (None, "") else float_value(name)(text)


def env_str(name):
    text = os.environ.get(name)
    return None if text in (None, "") else text


def resolve(args):
    """Merges flags, --config JSON and environment fallbacks into one settings dict (no validation yet)."""
    config = {}
    if args.config_json is not None and args.config_json.startswith("@"):
        config = parse_json_object("--config", read_config_file("--config", args.config_json[1:]))
    elif args.config_json is not None:
        config = parse_json_object("--config", args.config_json)
    elif args.config_file is not None:
        try:
            with open(args.config_file, encoding="utf-8") as f:
                config = parse_json_object("--config-file", f.read())
        except OSError as e:
            raise BadInput(f"--config-file: cannot read {args.config_file!r} ({e.strerror})") from None
    elif env_str("CONFIG") is not None and os.environ["CONFIG"].startswith("@"):
        config = parse_json_object("CONFIG", read_config_file("CONFIG", os.environ["CONFIG"][1:]))
    elif env_str("CONFIG") is not None:
        config = parse_json_object("CONFIG", os.environ["CONFIG"])

    advanced = first(args.advanced_config, None)
    if advanced is not None:
        advanced = parse_json_object("--advanced_config", advanced)
    elif isinstance(config.get("advanced_config"), dict):
        advanced = config["advanced_config"]
    elif "advanced_config" in config:
        raise BadInput("--config: advanced_config must be a JSON object")

    s = {
        "job_id": first(args.job_id, args.new_job_id, config.get("job_id"), env_str("JOB_ID")),
        "framework": first(args.framework, config.get("framework"), env_str("FRAMEWORK")),
        "task_type": first(args.task_type, config.get("task_type"), env_str("TASK_TYPE")),
        "model_name": first(args.model_name, args.new_model_name, config.get("model_name"), env_str("MODEL_NAME")),
        "dataset_path": first(args.dataset_path, args.new_dataset_s3_uri, config.get("dataset_path"),
                              config.get("dataset_s3_uri"), env_str("DATASET_S3_URI")),
        "dataset_format": first(args.dataset_format, config.get("dataset_format")),
        "epochs": first(args.epochs, config.get("epochs"), env_int("EPOCHS")),
        "batch_size": first(args.batch_size, config.get("batch_size"), env_int("BATCH_SIZE")),
        "learning_rate": first(args.learning_rate, config.get("learning_rate"), env_float("LEARNING_RATE")),
        "optimizer": first(args.optimizer, config.get("optimizer")),
        "output_dir": first(args.output_dir, config.get("output_dir"), env_str("OUTPUT_DIR")),
        "num_classes": first(args.num_classes, config.get("num_classes")),
        "project_id": first(args.project_id, config.get("project_id")),
        "image_size": first(args.image_size, config.get("image_size"), env_int("IMGSZ")),
        "pretrained": bool(first(args.pretrained, config.get("pretrained"), False)),
        "checkpoint_path": first(args.checkpoint_path, config.get("checkpoint_path")),
        "resume": bool(first(args.resume, config.get("resume"), False)),
        "callback_url": first(args.callback_url, args.new_callback_url, config.get("callback_url"),
                              env_str("CALLBACK_URL")),
        "job_type": first(args.job_type, config.get("job_type")),
        "device": first(config.get("device"), env_str("DEVICE")),
        "advanced_config": advanced or {},
        "contract": "json-config" if (args.config_json is not None or args.config_file is not None
                                      or args.new_job_id is not None) else "flags",
    }
    for key, value in DEFAULTS.items():
        if s[key] is None:
            s[key] = value
    return s


def apply_knobs(args, advanced):
    """Fills each knob from its flag, else advanced_config, else the VP_<KEY> environment variable, else the default."""
    for name, kind, default in KNOBS:
        if getattr(args, name) is not None:
            continue
        value = advanced.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
                raise BadInput(f"--advanced_config: {name} {value!r} must be {'an integer' if kind is int else 'a number'}")
            value = kind(value)
        else:
            text = os.environ.get(f"VP_{name.upper()}")
            if text not in (None, ""):
                value = (float_value if kind is float else int_value)(f"VP_{name.upper()}")(text)
        setattr(args, name, default if value is None else value)


def validate(s, args):
    """Semantic validation; every message names the flag and the rule."""
    if not s["job_id"]:
        raise BadInput("--job_id: required (or --job-id, or the JOB_ID environment variable)")
    if not s["output_dir"]:
        raise BadInput("--output_dir: required (or output_dir in --config, or the OUTPUT_DIR environment variable)")
    check_int("--epochs", s["epochs"], 1)
    check_int("--batch_size", s["batch_size"], 1)
    if not isinstance(s["learning_rate"], (int, float)) or isinstance(s["learning_rate"], bool) \
            or not (0 < s["learning_rate"] <= 10):
        raise BadInput(f"--learning_rate: {s['learning_rate']!r} must be a number greater than 0 and at most 10")
    if str(s["optimizer"]).lower() not in OPTIMIZERS:
        raise BadInput(f"--optimizer: {s['optimizer']!r} is not supported (use one of {', '.join(OPTIMIZERS)})")
    s["optimizer"] = str(s["optimizer"]).lower()
    if str(s["job_type"]).lower() not in JOB_TYPES:
        raise BadInput(f"--job_type: {s['job_type']!r} is not supported (use one of {', '.join(JOB_TYPES)})")
    s["job_type"] = str(s["job_type"]).lower()
    if s["num_classes"] is not None:
        check_int("--num_classes", s["num_classes"], 1)
    if s["image_size"] is not None:
        check_int("--image_size", s["image_size"], 1)
    if args.workers < 0 or args.workers > 64:
        raise BadInput(f"--workers: {args.workers} must be between 0 and 64")
    if args.epoch_seconds < 0:
        raise BadInput(f"--epoch_seconds: {args.epoch_seconds} must not be negative")
    if args.diverge_at_epoch is not None and args.diverge_at_epoch < 1:
        raise BadInput(f"--diverge_at_epoch: {args.diverge_at_epoch} must be at least 1")
    if args.log_lines_per_epoch < 0:
        raise BadInput(f"--log_lines_per_epoch: {args.log_lines_per_epoch} must not be negative")
    if not 0 <= args.exit_code <= 255:
        raise BadInput(f"--exit_code: {args.exit_code} must be between 0 and 255")
    if s["resume"] and s["checkpoint_path"] is None:
        # weights/last.json; last.json at the root is where trainers before the layout change wrote it.
        candidates = (last_checkpoint_path(s["output_dir"]), os.path.join(s["output_dir"], "last.json"))
        found = [c for c in candidates if os.path.isfile(c)]
        if not found:
            raise BadInput(f"--resume: needs --checkpoint_path (or a {WEIGHTS_DIR}/last.json in --output_dir)")
        s["checkpoint_path"] = found[0]
    if s["checkpoint_path"] is not None and not os.path.isfile(s["checkpoint_path"]):
        raise BadInput(f"--checkpoint_path: {s['checkpoint_path']!r} does not exist")


def check_int(flag, value, minimum):
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise BadInput(f"{flag}: {value!r} must be an integer of at least {minimum}")


def log(message):
    print(message, flush=True)


def finite_metrics(metrics):
    """The metrics that are finite numbers: JSON has no NaN or Infinity (json.dumps would write bare NaN)."""
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def progress(epoch, total_epochs, step, metrics):
    """Prints the VP_PROGRESS line; a non-finite metric (a diverging loss) is left out, never written as NaN."""
    line = {"epoch": epoch, "total_epochs": total_epochs, "step": step, "metrics": finite_metrics(metrics)}
    log("VP_PROGRESS " + json.dumps(line, allow_nan=False))


def json_safe(metrics):
    """For files: a non-finite metric becomes null, so checkpoints and metrics.json stay valid JSON."""
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in metrics.items()}


def write_json(path, value):
    """Atomic write, so a reader (or a kill) never sees half a file."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def write_run_file(output_dir, s=None):
    os.makedirs(output_dir, exist_ok=True)
    run = {
        "argv": sys.argv[1:],
        "env_names": sorted(os.environ.keys()),
        "pid": os.getpid(),
        "started_at": time.time(),
    }
    if s is not None:
        run["settings"] = s
    write_json(os.path.join(output_dir, "run.json"), run)


# ---------------------------------------------------------------------------------------------------------------
# Signals: SIGTERM/SIGINT set a flag; the loop checks it between steps and while sleeping, then checkpoints.

_stop_signal = None


def _on_signal(signum, _frame):
    global _stop_signal
    _stop_signal = signum


class Stopped(Exception):
    pass


def check_stop():
    if _stop_signal is not None:
        raise Stopped()


def sleep_interruptibly(seconds):
    deadline = time.monotonic() + seconds
    while True:
        check_stop()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


# ---------------------------------------------------------------------------------------------------------------
# The model: logistic regression on generated, seeded data.

def generate_data(seed, samples):
    rng = random.Random(seed)
    true_w = [rng.uniform(-2, 2) for _ in range(NUM_FEATURES)]
    true_b = rng.uniform(-0.5, 0.5)
    xs, ys = [], []
    for _ in range(samples):
        x = [rng.gauss(0, 1) for _ in range(NUM_FEATURES)]
        z = sum(w * v for w, v in zip(true_w, x)) + true_b + rng.gauss(0, 0.5)
        xs.append(x)
        ys.append(1.0 if z > 0 else 0.0)
    return xs, ys


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def evaluate(params, xs, ys):
    loss, correct = 0.0, 0
    for x, y in zip(xs, ys):
        p = sigmoid(sum(w * v for w, v in zip(params, x)) + params[-1])
        p = min(max(p, 1e-12), 1 - 1e-12)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        correct += (p >= 0.5) == (y >= 0.5)
    return loss / len(xs), correct / len(xs)


class Optimizer:
    """sgd / adam / adamw / rmsprop over a flat parameter list (weights then bias)."""

    def __init__(self, name, lr, size, state=None):
        self.name = "adam" if name == "auto" else name
        self.lr = lr
        self.t = 0
        self.m = [0.0] * size
        self.v = [0.0] * size
        if state:
            self.t, self.m, self.v = state["t"], list(state["m"]), list(state["v"])

    def state(self):
        return {"t": self.t, "m": self.m, "v": self.v}

    def step(self, params, grads):
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        for i, g in enumerate(grads):
            if self.name == "sgd":
                params[i] -= self.lr * g
            elif self.name == "rmsprop":
                self.v[i] = 0.99 * self.v[i] + 0.01 * g * g
                params[i] -= self.lr * g / (math.sqrt(self.v[i]) + eps)
            else:
                if self.name == "adamw" and i < len(params) - 1:
                    params[i] -= self.lr * 0.01 * params[i]
                self.m[i] = b1 * self.m[i] + (1 - b1) * g
                self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
                m_hat = self.m[i] / (1 - b1 ** self.t)
                v_hat = self.v[i] / (1 - b2 ** self.t)
                params[i] -= self.lr * m_hat / (math.sqrt(v_hat) + eps)


def gradients(params, xs, ys):
    grads = [0.0] * len(params)
    for x, y in zip(xs, ys):
        err = sigmoid(sum(w * v for w, v in zip(params, x)) + params[-1]) - y
        for i, v in enumerate(x):
            grads[i] += err * v
        grads[-1] += err
    n = len(xs)
    return [g / n for g in grads]


def load_checkpoint(path, flag="--checkpoint_path"):
    try:
        with open(path, encoding="utf-8") as f:
            ckpt = json.load(f)
        params = [float(v) for v in ckpt["weights"]] + [float(ckpt["bias"])]
        if len(params) != NUM_FEATURES + 1:
            raise ValueError(f"expected {NUM_FEATURES} weights")
        return ckpt, params
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BadInput(f"{flag}: {path!r} is not a checkpoint written by this trainer ({e})") from None


def epoch_checkpoint_path(out, epoch):
    return os.path.join(out, CHECKPOINTS_DIR, f"checkpoint_epoch_{epoch}.json")


def last_checkpoint_path(out):
    return os.path.join(out, WEIGHTS_DIR, "last.json")


def best_checkpoint_path(out):
    return os.path.join(out, WEIGHTS_DIR, "best.json")


def best_loss_of(history):
    losses = [h["loss"] for h in history if isinstance(h.get("loss"), (int, float)) and math.isfinite(h["loss"])]
    return min(losses) if losses else None


def latest_local_checkpoint(out):
    """The checkpoints/checkpoint_epoch_<n>.json with the highest n in the output directory, or None."""
    best = None
    try:
        names = os.listdir(os.path.join(out, CHECKPOINTS_DIR))
    except OSError:
        return None
    for name in names:
        match = EPOCH_CHECKPOINT.fullmatch(name)
        if match and (best is None or int(match.group(1)) > best[0]):
            best = (int(match.group(1)), os.path.join(out, CHECKPOINTS_DIR, name))
    return best[1] if best else None


def save_checkpoint(out, s, epoch, step, params, opt, history, final=False, best=False, sync=None):
    """checkpoints/checkpoint_epoch_<e>.json for a completed epoch, weights/last.json always, weights/best.json when best.
    With checkpoint sync (TRAINING_CHECKPOINT_URI), the epoch checkpoint and last.json are uploaded too."""
    ckpt = {
        "job_id": s["job_id"],
        "epoch": epoch,
        "total_epochs": s["epochs"],
        "step": step,
        "weights": params[:-1],
        "bias": params[-1],
        "optimizer": opt.name,
        "optimizer_state": opt.state(),
        "history": history,
    }
    if epoch > 0 and final:
        write_json(epoch_checkpoint_path(out, epoch), ckpt)
    write_json(last_checkpoint_path(out), ckpt)
    if best:
        write_json(best_checkpoint_path(out), ckpt)
    if sync is not None:
        if epoch > 0 and final:
            sync.upload(epoch_checkpoint_path(out, epoch))
        sync.upload(last_checkpoint_path(out), "last.json")


# ---------------------------------------------------------------------------------------------------------------
# Workers: like PyTorch data loaders, they ignore SIGTERM and stay until their process group is killed.

def run_worker(index, parent_pid):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    orphaned_since = None
    try:
        while True:
            time.sleep(0.2)
            if os.getppid() != parent_pid:
                orphaned_since = orphaned_since or time.monotonic()
                if time.monotonic() - orphaned_since > WORKER_ORPHAN_SECONDS:
                    return 0
    except KeyboardInterrupt:
        return EXIT_SIGINT


def start_workers(count):
    workers = []
    for i in range(count):
        workers.append(subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--_worker", str(i), "--_parent_pid", str(os.getpid())],
            stdin=subprocess.DEVNULL))
    if count:
        log(f"started {count} data loader workers: pids {' '.join(str(w.pid) for w in workers)}")
    return workers


def stop_workers(workers):
    for w in workers:
        if w.poll() is None:
            w.kill()
    for w in workers:
        w.wait()


# ---------------------------------------------------------------------------------------------------------------

def write_log_bytes(total):
    """Writes exactly `total` bytes of newline-terminated log lines to stdout as fast as possible."""
    line_len = 100
    lines = []
    for i in range(10486):  # about 1 MiB per block
        prefix = f"log line {i:08d} "
        lines.append(prefix + "x" * (line_len - len(prefix) - 1) + "\n")
    block = "".join(lines).encode("ascii")
    fd = sys.stdout.fileno()
    sys.stdout.flush()
    left = total
    while left > 0:
        chunk = block if left >= len(block) else block[:left - 1] + b"\n"
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]
        left -= len(chunk)
    return 0


def train(s, args):
    out = s["output_dir"]
    adv = s["advanced_config"]
    seed = int(adv.get("seed", 42)) if isinstance(adv.get("seed", 42), (int, float)) else 42
    samples = adv.get("samples", 512)
    if not isinstance(samples, int) or isinstance(samples, bool) or not 8 <= samples <= 1_000_000:
        raise BadInput(f"--advanced_config: samples {samples!r} must be an integer between 8 and 1000000")
    xs, ys = generate_data(seed, samples)
    params = [0.0] * (NUM_FEATURES + 1)
    start_epoch, step, history, opt_state = 1, 0, [], None

    # Checkpoint sync (TRAINING_CHECKPOINT_URI, set by the Kubernetes executor with an artifact store): a replacement pod
    # starts with an empty output directory; it first restores this run's newest checkpoint from the store, then continues
    # after it (this run's own progress wins over --checkpoint_path). Without the variable nothing here changes.
    sync, resumed_from, own_checkpoint = None, None, None
    if s["job_type"] == "training" and os.environ.get("TRAINING_CHECKPOINT_URI"):
        import checkpoint_store
        sync = checkpoint_store.CheckpointSync.from_environment(EPOCH_CHECKPOINT.pattern)
        own_checkpoint = latest_local_checkpoint(out)
        if own_checkpoint is None and sync is not None:
            restored = sync.restore(os.path.join(out, CHECKPOINTS_DIR))
            own_checkpoint = restored[1] if restored else None

    if own_checkpoint is not None:
        ckpt, params = load_checkpoint(own_checkpoint, "--output_dir")
        resumed_from = int(ckpt.get("epoch", 0))
        start_epoch = resumed_from + 1
        step = int(ckpt.get("step", 0))
        history = [h for h in ckpt.get("history", []) if h.get("epoch", 0) < start_epoch]
        if ckpt.get("optimizer") == ("adam" if s["optimizer"] == "auto" else s["optimizer"]):
            opt_state = ckpt.get("optimizer_state")
        log(f"resuming from {own_checkpoint} at epoch {start_epoch} (resumed after epoch {resumed_from})")
    elif s["checkpoint_path"] is not None:
        ckpt, params = load_checkpoint(s["checkpoint_path"])
        if s["resume"]:
            start_epoch = int(ckpt.get("epoch", 0)) + 1
            step = int(ckpt.get("step", 0))
            history = [h for h in ckpt.get("history", []) if h.get("epoch", 0) < start_epoch]
            if ckpt.get("optimizer") == ("adam" if s["optimizer"] == "auto" else s["optimizer"]):
                opt_state = ckpt.get("optimizer_state")
            log(f"resuming from {s['checkpoint_path']} at epoch {start_epoch}")
        else:
            log(f"initialised weights from {s['checkpoint_path']}")
    opt = Optimizer(s["optimizer"], s["learning_rate"], len(params), opt_state)

    log(f"job {s['job_id']}: {s['job_type']} {s['framework']}/{s['model_name']} task={s['task_type']} "
        f"dataset={s['dataset_path']} ({s['dataset_format']}) epochs={s['epochs']} batch_size={s['batch_size']} "
        f"lr={s['learning_rate']} optimizer={opt.name} contract={s['contract']}")

    if s["job_type"] != "training":
        loss, acc = evaluate(params, xs, ys)
        metrics = {"loss": round(loss, 6), "accuracy": round(acc, 6)}
        progress(1, 1, 0, metrics)
        if s["job_type"] == "export":
            write_json(os.path.join(out, WEIGHTS_DIR, "model.json"), {"weights": params[:-1], "bias": params[-1]})
        write_json(os.path.join(out, "metrics.json"), {
            "job_id": s["job_id"], "job_type": s["job_type"], "status": "completed",
            "epochs_completed": 0, "final": metrics, "history": []})
        log(f"{s['job_type']} finished: loss={metrics['loss']:.4f} accuracy={metrics['accuracy']:.4f}")
        return 0

    if args.start_gate:
        log(f"waiting for the start gate {args.start_gate}")
        while not os.path.exists(args.start_gate):
            sleep_interruptibly(0.05)

    epoch = start_epoch - 1
    best_loss = best_loss_of(history)
    try:
        for epoch in range(start_epoch, s["epochs"] + 1):
            if args.fail_at_epoch is not None and epoch == args.fail_at_epoch:
                sys.stdout.flush()
                print("Traceback (most recent call last):\n"
                      f"  File \"{os.path.abspath(__file__)}\", line 1, in train\n"
                      f"RuntimeError: simulated training failure at epoch {epoch} (--fail_at_epoch)",
                      file=sys.stderr, flush=True)
                return EXIT_FAILURE
            started = time.monotonic()
            batches = max(1, math.ceil(len(xs) / s["batch_size"]))
            for b in range(batches):
                check_stop()
                lo = b * s["batch_size"]
                opt.step(params, gradients(params, xs[lo:lo + s["batch_size"]], ys[lo:lo + s["batch_size"]]))
                step += 1
            for i in range(args.log_lines_per_epoch):
                log(f"epoch {epoch} log line {i + 1}/{args.log_lines_per_epoch}: step {step}")
            sleep_interruptibly(args.epoch_seconds)
            loss, acc = evaluate(params, xs, ys)
            if args.diverge_at_epoch is not None and epoch >= args.diverge_at_epoch:
                loss = float("nan")
            metrics = {"loss": round(loss, 6), "accuracy": round(acc, 6)}
            history.append({"epoch": epoch, "step": step, **json_safe(metrics)})
            is_best = math.isfinite(loss) and (best_loss is None or loss < best_loss)
            if is_best:
                best_loss = loss
            save_checkpoint(out, s, epoch, step, params, opt, history, final=True, best=is_best, sync=sync)
            log(f"Epoch {epoch}/{s['epochs']}: loss={loss:.4f} accuracy={acc:.4f} "
                f"({time.monotonic() - started:.2f}s)")
            progress(epoch, s["epochs"], step, metrics)
    except Stopped:
        # The epoch in progress is incomplete: save the weights as of now under the last completed epoch,
        # so --resume repeats it.
        path = last_checkpoint_path(out)
        save_checkpoint(out, s, epoch - 1 if epoch >= start_epoch else start_epoch - 1, step, params, opt,
                        history, sync=sync)
        name = "SIGTERM" if _stop_signal == signal.SIGTERM else "SIGINT"
        log(f"received {name}: checkpoint saved to {path}; exiting")
        return EXIT_SIGTERM if _stop_signal == signal.SIGTERM else EXIT_SIGINT

    final = history[-1] if history else {"loss": None, "accuracy": None}
    metrics_file = {
        "job_id": s["job_id"], "job_type": "training", "status": "completed",
        "epochs_completed": len(history),
        "final": {"loss": final["loss"], "accuracy": final["accuracy"]},
        "history": history,
    }
    if sync is not None or resumed_from is not None:
        # With checkpoint sync: the epoch this run continued after (0: from scratch) and the epochs this process trained.
        metrics_file["resumed_from_epoch"] = resumed_from or 0
        metrics_file["epochs_trained"] = [h["epoch"] for h in history if h["epoch"] >= start_epoch]
    write_json(os.path.join(out, "metrics.json"), metrics_file)
    log(f"training finished: {len(history)} epochs, final loss={final['loss']} accuracy={final['accuracy']}; "
        f"results in {out}")
    return args.exit_code


def main(argv):
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except BadInput as e:
        print(f"train.py: error: {e}", file=sys.stderr, flush=True)
        return EXIT_BAD_INPUT

    if args._worker is not None:
        return run_worker(args._worker, args._parent_pid or os.getppid())

    workers = []
    try:
        s = resolve(args)
        apply_knobs(args, s["advanced_config"])
        if args.log_bytes is not None:
            if args.log_bytes < 0:
                raise BadInput(f"--log_bytes: {args.log_bytes} must not be negative")
            if s["output_dir"]:
                write_run_file(s["output_dir"], s)
            return write_log_bytes(args.log_bytes)
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        if s["output_dir"]:
            write_run_file(s["output_dir"], s)
        validate(s, args)
        workers = start_workers(args.workers)
        code = train(s, args)
    except BadInput as e:
        print(f"train.py: error: {e}", file=sys.stderr, flush=True)
        code = EXIT_BAD_INPUT
    except Stopped:
        code = EXIT_SIGTERM if _stop_signal == signal.SIGTERM else EXIT_SIGINT
    # After SIGTERM the workers stay, as PyTorch data loaders do: only a process-group kill removes them.
    if _stop_signal is None:
        stop_workers(workers)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        # The reader went away: nothing more can be reported; avoid a second error while flushing at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_FAILURE)
