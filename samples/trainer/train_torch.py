#!/usr/bin/env python3
"""Reference PyTorch trainer for VisionPlatform.Training (Python 3 standard library + torch + torchvision).

It accepts every flag of the demo trainer ``train.py`` (the documented flag contract, the newer ``--job-id
--model-name --dataset-s3-uri --callback-url --config <json> | --config @<path> | --config-file`` contract with the
same environment fallbacks, and the demo trainer's test knobs), with ``--framework pytorch`` (the default; any other
framework is bad input). It trains a real convolutional classifier with torch on a synthetic image data set that it
generates itself, deterministically from a seed, so it needs no download and no data set.

Single process when started directly; DistributedDataParallel over gloo when started by torchrun
(``python3 -m torch.distributed.run``), detected through the ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` environment
variables torchrun gives its workers. Every rank generates the same data; a DistributedSampler gives each rank its
share. Only rank 0 prints ``VP_PROGRESS`` lines and writes files:

    VP_PROGRESS {"epoch": e, "total_epochs": n, "step": s, "metrics": {"loss": ..., "accuracy": ...}}

Files (docs/storage.md layout): per epoch ``checkpoints/epoch_<e>.pt`` and ``weights/last.pt`` (also written after
SIGTERM), at the end ``metrics.json`` (``world_size``, every rank that took part with its hostname, the final loss,
which is all-reduced so it is the same on every rank, ``epochs_completed``, ``resumed_from_epoch``); ``run.json`` (argv
and the environment variable *names*) at start. Files are written atomically (temp file + rename), 0600; directories
the trainer creates are 0700.

Resume rule, in this order: (1) when the output directory already holds a checkpoint (``weights/last.pt``, else the
highest ``checkpoints/epoch_<n>.pt``), it continues after it, with or without ``--resume``: this is how a torchrun
whole-group restart (``--max_restarts``) resumes, because the restarted workers get the same command line and find
the checkpoints their previous attempt wrote; (2) else with ``--checkpoint_path P`` it loads P (``--resume``: continue
after P's epoch; without: initialise the weights only); (3) else it starts from scratch. ``--resume`` with no
checkpoint in either place is bad input. Rank 0 loads the checkpoint and broadcasts epoch, model and optimizer state,
so every rank starts from the same state.

``--pretrained`` never downloads: the trainer says so on stderr and trains from scratch.

Models (``--model_name``): ``tiny_cnn`` (the default; two small convolutions) or any torchvision classification model
name (``resnet18``, ``mobilenet_v3_small`` ...) built without weights.

Exit codes: 0 success, 1 training failure, 2 bad input (one line on stderr naming the flag), 143 after SIGTERM (rank 0
writes ``weights/last.pt`` first), 130 after SIGINT.

Test knobs (flags; also ``advanced_config`` keys or ``VP_<KNOB>`` environment variables, like train.py's):
``--samples N`` synthetic images (default 256), ``--seed S``, ``--threads T`` torch threads per process (default 1),
``--start_gate PATH`` (every rank waits before the first epoch until PATH exists), ``--hold_after_epoch K`` with
``--hold_gate PATH`` (after epoch K's checkpoint every rank, or only those in ``--hold_ranks 1,3``, waits until PATH
exists; the others then wait for them in their next collective), ``--rank_files`` (each rank
writes ``ranks/rank_<r>.json`` with its pid, host, restart count and phase: ``starting``, ``gate``, ``training``,
``held``, ``finished``), ``--dist_timeout S`` (gloo collective timeout, default 300), and train.py's ``--workers``
(DataLoader worker processes), ``--epoch_seconds``, ``--fail_at_epoch``, ``--diverge_at_epoch``, ``--exit_code``,
``--log_lines_per_epoch``, ``--log_bytes``.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import signal
import socket
import sys
import time

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_SIGTERM = 143
EXIT_SIGINT = 130

PROG = "train_torch.py"
FRAMEWORKS = ("pytorch",)
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "auto")
JOB_TYPES = ("training", "evaluation", "inference", "export")
DEFAULT_MODEL = "tiny_cnn"
DEFAULTS = {
    "framework": "pytorch",
    "task_type": "classification",
    "model_name": DEFAULT_MODEL,
    "dataset_path": "generated",
    "dataset_format": "generated",
    "epochs": 10,
    "batch_size": 16,
    "learning_rate": 0.001,
    "optimizer": "adam",
    "job_type": "training",
    "num_classes": 4,
    "image_size": 16,
}
# (name, kind, default): kind int, float, str or bool (a switch).
KNOBS = (
    ("workers", int, 0),
    ("epoch_seconds", float, 0.0),
    ("fail_at_epoch", int, None),
    ("diverge_at_epoch", int, None),
    ("exit_code", int, 0),
    ("log_lines_per_epoch", int, 0),
    ("log_bytes", int, None),
    ("samples", int, 256),
    ("seed", int, 42),
    ("threads", int, 1),
    ("hold_after_epoch", int, None),
    ("dist_timeout", float, 300.0),
)
CHECKPOINTS_DIR = "checkpoints"
WEIGHTS_DIR = "weights"
RANKS_DIR = "ranks"


class BadInput(Exception):
    """Invalid input: reported as one line on stderr with exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(message)


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


def build_parser():
    p = OneLineParser(prog=PROG, allow_abbrev=False, description=__doc__.split("\n\n")[0])
    # The documented flag contract (as train.py).
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
    # The newer contract.
    p.add_argument("--job-id", dest="new_job_id")
    p.add_argument("--model-name", dest="new_model_name")
    p.add_argument("--dataset-s3-uri", dest="new_dataset_s3_uri")
    p.add_argument("--callback-url", dest="new_callback_url")
    p.add_argument("--config", dest="config_json")
    p.add_argument("--config-file", dest="config_file")
    # Test knobs.
    p.add_argument("--start_gate")
    p.add_argument("--hold_gate")
    p.add_argument("--hold_ranks")
    p.add_argument("--rank_files", action="store_true", default=None)
    for name, kind, _ in KNOBS:
        p.add_argument(f"--{name}", type=(float_value if kind is float else int_value)(f"--{name}"))
    # train.py's hidden data-loader-worker mode: accepted so the flag sets match; it is never used here.
    p.add_argument("--_worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--_parent_pid", type=int, help=argparse.SUPPRESS)
    return p


def parse_json_object(flag, text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"{flag}: invalid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(value, dict):
        raise BadInput(f"{flag}: must be a JSON object, got {type(value).__name__}")
    return value


def read_config_file(flag, path):
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


def env_str(name):
    text = os.environ.get(name)
    return None if text in (None, "") else text


def env_int(name):
    text = env_str(name)
    return None if text is None else int_value(name)(text)


def env_float(name):
    text = env_str(name)
    return None if text is None else float_value(name)(text)


def resolve(args):
    """Flags, then the --config JSON, then the environment, then the default (train.py's precedence)."""
    config = {}
    if args.config_json is not None and args.config_json.startswith("@"):
        config = parse_json_object("--config", read_config_file("--config", args.config_json[1:]))
    elif args.config_json is not None:
        config = parse_json_object("--config", args.config_json)
    elif args.config_file is not None:
        config = parse_json_object("--config-file", read_config_file("--config-file", args.config_file))
    elif env_str("CONFIG") is not None and os.environ["CONFIG"].startswith("@"):
        config = parse_json_object("CONFIG", read_config_file("CONFIG", os.environ["CONFIG"][1:]))
    elif env_str("CONFIG") is not None:
        config = parse_json_object("CONFIG", os.environ["CONFIG"])

    if args.advanced_config is not None:
        advanced = parse_json_object("--advanced_config", args.advanced_config)
    elif isinstance(config.get("advanced_config"), dict):
        advanced = config["advanced_config"]
    elif "advanced_config" in config:
        raise BadInput("--config: advanced_config must be a JSON object")
    else:
        advanced = {}

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
        "advanced_config": advanced,
        "contract": "json-config" if (args.config_json is not None or args.config_file is not None
                                      or args.new_job_id is not None) else "flags",
    }
    for key, value in DEFAULTS.items():
        if s[key] is None:
            s[key] = value
    return s


def apply_knobs(args, advanced):
    """Each knob from its flag, else advanced_config, else VP_<KNOB>, else its default."""
    for name, kind, default in KNOBS:
        if getattr(args, name) is not None:
            continue
        value = advanced.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
                rule = "an integer" if kind is int else "a number"
                raise BadInput(f"--advanced_config: {name} {value!r} must be {rule}")
            value = kind(value)
        else:
            text = env_str(f"VP_{name.upper()}")
            if text is not None:
                value = (float_value if kind is float else int_value)(f"VP_{name.upper()}")(text)
        setattr(args, name, default if value is None else value)
    for name in ("start_gate", "hold_gate", "hold_ranks"):
        if getattr(args, name) is None:
            value = advanced.get(name, env_str(f"VP_{name.upper()}"))
            if value is not None and not isinstance(value, str):
                raise BadInput(f"--advanced_config: {name} {value!r} must be a string")
            setattr(args, name, value)
    if args.rank_files is None:
        value = advanced.get("rank_files", env_str("VP_RANK_FILES"))
        args.rank_files = value in (True, "1", "true", "True")


def check_int(flag, value, minimum, maximum=None):
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum \
            or (maximum is not None and value > maximum):
        rule = f"between {minimum} and {maximum}" if maximum is not None else f"of at least {minimum}"
        raise BadInput(f"{flag}: {value!r} must be an integer {rule}")


def validate(s, args):
    if str(s["framework"]).lower() not in FRAMEWORKS:
        raise BadInput(f"--framework: {s['framework']!r} is not supported by {PROG} (use pytorch)")
    s["framework"] = str(s["framework"]).lower()
    if not s["job_id"]:
        raise BadInput("--job_id: required (or --job-id, or the JOB_ID environment variable)")
    if not s["output_dir"]:
        raise BadInput("--output_dir: required (or output_dir in --config, or the OUTPUT_DIR environment variable)")
    check_int("--epochs", s["epochs"], 1, 100_000)
    check_int("--batch_size", s["batch_size"], 1, 65_536)
    if not isinstance(s["learning_rate"], (int, float)) or isinstance(s["learning_rate"], bool) \
            or not (0 < s["learning_rate"] <= 10):
        raise BadInput(f"--learning_rate: {s['learning_rate']!r} must be a number greater than 0 and at most 10")
    if str(s["optimizer"]).lower() not in OPTIMIZERS:
        raise BadInput(f"--optimizer: {s['optimizer']!r} is not supported (use one of {', '.join(OPTIMIZERS)})")
    s["optimizer"] = str(s["optimizer"]).lower()
    if str(s["job_type"]).lower() not in JOB_TYPES:
        raise BadInput(f"--job_type: {s['job_type']!r} is not supported (use one of {', '.join(JOB_TYPES)})")
    s["job_type"] = str(s["job_type"]).lower()
    check_int("--num_classes", s["num_classes"], 2, 1000)
    check_int("--image_size", s["image_size"], 8, 512)
    check_int("--samples", args.samples, 8, 1_000_000)
    check_int("--threads", args.threads, 1, 256)
    if not 0 <= args.workers <= 64:
        raise BadInput(f"--workers: {args.workers} must be between 0 and 64")
    if args.epoch_seconds < 0:
        raise BadInput(f"--epoch_seconds: {args.epoch_seconds} must not be negative")
    if args.fail_at_epoch is not None and args.fail_at_epoch < 1:
        raise BadInput(f"--fail_at_epoch: {args.fail_at_epoch} must be at least 1")
    if args.diverge_at_epoch is not None and args.diverge_at_epoch < 1:
        raise BadInput(f"--diverge_at_epoch: {args.diverge_at_epoch} must be at least 1")
    if args.log_lines_per_epoch < 0:
        raise BadInput(f"--log_lines_per_epoch: {args.log_lines_per_epoch} must not be negative")
    if not 0 <= args.exit_code <= 255:
        raise BadInput(f"--exit_code: {args.exit_code} must be between 0 and 255")
    if args.hold_after_epoch is not None and args.hold_after_epoch < 1:
        raise BadInput(f"--hold_after_epoch: {args.hold_after_epoch} must be at least 1")
    if args.hold_after_epoch is not None and not args.hold_gate:
        raise BadInput("--hold_after_epoch: needs --hold_gate (the file whose existence releases the hold)")
    if args.hold_ranks is not None:
        try:
            args.hold_ranks = {int(r) for r in args.hold_ranks.split(",") if r.strip()}
        except ValueError:
            raise BadInput(f"--hold_ranks: {args.hold_ranks!r} must be a comma-separated list of ranks") from None
    if not 1 <= args.dist_timeout <= 86_400:
        raise BadInput(f"--dist_timeout: {args.dist_timeout} must be between 1 and 86400 seconds")
    if s["checkpoint_path"] is not None and not os.path.isfile(s["checkpoint_path"]):
        raise BadInput(f"--checkpoint_path: {s['checkpoint_path']!r} does not exist")
    if s["resume"] and s["checkpoint_path"] is None and latest_checkpoint(s["output_dir"]) is None:
        raise BadInput(f"--resume: needs --checkpoint_path (or a {WEIGHTS_DIR}/last.pt or "
                       f"{CHECKPOINTS_DIR}/epoch_<n>.pt in --output_dir)")


# ---------------------------------------------------------------------------------------------------------------
# Output

RANK = 0
DISTRIBUTED = False


def log(message):
    """Human log lines: rank 0 on stdout (as train.py), other ranks on stderr (torchrun -t 2 prefixes them)."""
    if RANK == 0:
        print(message, flush=True)
    else:
        print(f"rank {RANK}: {message}", file=sys.stderr, flush=True)


def warn(message):
    print(f"{PROG}: {message}" if RANK == 0 else f"rank {RANK}: {PROG}: {message}", file=sys.stderr, flush=True)


def finite_metrics(metrics):
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def json_safe(metrics):
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in metrics.items()}


def progress(epoch, total_epochs, step, metrics):
    if RANK != 0:
        return
    line = {"epoch": epoch, "total_epochs": total_epochs, "step": step, "metrics": finite_metrics(metrics)}
    print("VP_PROGRESS " + json.dumps(line, allow_nan=False), flush=True)


def make_dirs(path):
    """Creates missing directories 0700 (existing ones are left as they are)."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)  # the umask may have taken bits away; it never adds any


def atomic_write(path, write):
    """Writes through `write(file)` into a new 0600 temp file beside `path`, then renames it over `path`."""
    make_dirs(os.path.dirname(path) or ".")
    tmp = f"{path}.tmp{os.getpid()}.{time.monotonic_ns()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json(path, value):
    atomic_write(path, lambda f: f.write((json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")))


def write_run_file(output_dir, s=None):
    run = {"argv": sys.argv[1:], "env_names": sorted(os.environ.keys()), "pid": os.getpid(), "started_at": time.time()}
    if s is not None:
        run["settings"] = s
    write_json(os.path.join(output_dir, "run.json"), run)


class RankFile:
    """ranks/rank_<r>.json: a test's view of one worker (pid, host, restart count, phase)."""

    def __init__(self, enabled, output_dir, dist_env):
        self.enabled = enabled
        self.path = os.path.join(output_dir, RANKS_DIR, f"rank_{dist_env['rank']}.json")
        self.base = {"rank": dist_env["rank"], "local_rank": dist_env["local_rank"],
                     "world_size": dist_env["world_size"], "restart_count": dist_env["restart_count"],
                     "pid": os.getpid(), "hostname": socket.gethostname()}

    def phase(self, phase, **extra):
        if self.enabled:
            write_json(self.path, {**self.base, "phase": phase, **extra})


# ---------------------------------------------------------------------------------------------------------------
# Signals: SIGTERM/SIGINT set a flag; the loop stops between steps (all ranks agree on the step), then rank 0
# checkpoints.

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


def wait_for_file(path):
    while not os.path.exists(path):
        sleep_interruptibly(0.05)


def write_log_bytes(total):
    line_len = 100
    lines = []
    for i in range(10486):
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


# ---------------------------------------------------------------------------------------------------------------
# Checkpoints

def epoch_checkpoint_path(out, epoch):
    return os.path.join(out, CHECKPOINTS_DIR, f"epoch_{epoch}.pt")


def last_checkpoint_path(out):
    return os.path.join(out, WEIGHTS_DIR, "last.pt")


def latest_checkpoint(out):
    """weights/last.pt (always the newest one written), else the checkpoints/epoch_<n>.pt with the highest n."""
    if os.path.isfile(last_checkpoint_path(out)):
        return last_checkpoint_path(out)
    best = None
    try:
        names = os.listdir(os.path.join(out, CHECKPOINTS_DIR))
    except OSError:
        return None
    for name in names:
        if name.startswith("epoch_") and name.endswith(".pt") and name[6:-3].isdigit():
            n = int(name[6:-3])
            if best is None or n > best[0]:
                best = (n, os.path.join(out, CHECKPOINTS_DIR, name))
    return best[1] if best else None


# ---------------------------------------------------------------------------------------------------------------
# Torch

def dist_env():
    """torchrun's worker environment; a single process when WORLD_SIZE is unset or 1."""
    def read(name, default):
        text = env_str(name)
        if text is None:
            return default
        try:
            return int(text)
        except ValueError:
            raise BadInput(f"{name}: {text!r} is not an integer (set by torchrun)") from None

    world = read("WORLD_SIZE", 1)
    rank = read("RANK", 0)
    local_rank = read("LOCAL_RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise BadInput(f"RANK/WORLD_SIZE: rank {rank} is outside a world of {world} (set by torchrun)")
    return {"world_size": world, "rank": rank, "local_rank": local_rank,
            "restart_count": read("TORCHELASTIC_RESTART_COUNT", 0)}


def import_torch():
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as e:
        raise BadInput(f"--framework: pytorch needs torch and torchvision for {sys.executable} ({e}); "
                       "on Debian: apt-get install -y python3-torch python3-torchvision") from None


def build_model(name, num_classes, image_size):
    import torch.nn as nn
    if name == DEFAULT_MODEL:
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
            nn.Flatten(), nn.Linear(16, num_classes))
    import torchvision.models as models
    known = models.list_models(module=models)
    if name not in known:
        raise BadInput(f"--model_name: {name!r} is not {DEFAULT_MODEL} or a torchvision classification model "
                       f"(for example resnet18, mobilenet_v3_small)")
    if image_size < 32:
        raise BadInput(f"--image_size: {image_size} is too small for {name} (use at least 32)")
    return models.get_model(name, weights=None, num_classes=num_classes)


def make_optimizer(name, params, lr):
    import torch
    if name in ("adam", "auto"):
        return torch.optim.Adam(params, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.RMSprop(params, lr=lr)


def synthetic_dataset(seed, samples, num_classes, image_size):
    """Class prototypes plus noise, generated from `seed` alone: every rank builds the same data."""
    import torch
    g = torch.Generator().manual_seed(seed)
    # Each class: a colour (per-channel offset) plus a spatial pattern; the noise makes it a little less trivial.
    colours = torch.randn(num_classes, 3, 1, 1, generator=g)
    patterns = torch.randn(num_classes, 3, image_size, image_size, generator=g)
    labels = torch.randint(0, num_classes, (samples,), generator=g)
    noise = torch.randn(samples, 3, image_size, image_size, generator=g)
    images = 0.5 * colours[labels] + 0.5 * patterns[labels] + 2.0 * noise
    return torch.utils.data.TensorDataset(images, labels)


def load_checkpoint(flag, path):
    import torch
    try:
        ckpt = torch.load(path, map_location="cpu")
        if not isinstance(ckpt, dict) or "model" not in ckpt or "epoch" not in ckpt:
            raise ValueError("missing model or epoch")
        return ckpt
    except Exception as e:  # torch raises many kinds for a foreign or damaged file
        raise BadInput(f"{flag}: {path!r} is not a checkpoint written by {PROG} "
                       f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None


class Group:
    """The process group (or nothing, for a single process)."""

    def __init__(self, env, timeout_seconds):
        self.world_size = env["world_size"]
        self.rank = env["rank"]
        self.distributed = self.world_size > 1
        if self.distributed:
            import torch.distributed as dist
            dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=timeout_seconds))

    def broadcast_object(self, value):
        if not self.distributed:
            return value
        import torch.distributed as dist
        box = [value if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather_objects(self, value):
        if not self.distributed:
            return [value]
        import torch.distributed as dist
        out = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out

    def all_reduce_sum(self, values):
        """Sums a list of floats over every rank (float64)."""
        import torch
        t = torch.tensor(values, dtype=torch.float64)
        if self.distributed:
            import torch.distributed as dist
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    def any_stop(self):
        """Whether any rank has been asked to stop: every rank leaves the loop at the same step."""
        local = 1.0 if _stop_signal is not None else 0.0
        return self.all_reduce_sum([local])[0] > 0 if self.distributed else local > 0

    def close(self):
        if self.distributed:
            import torch.distributed as dist
            if dist.is_initialized():
                dist.destroy_process_group()


def run(s, args, env):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = s["output_dir"]
    rank_file = RankFile(args.rank_files, out, env)
    rank_file.phase("starting")

    if s["pretrained"]:
        warn("--pretrained: this trainer never downloads weights; training from scratch")
    model = build_model(s["model_name"], s["num_classes"], s["image_size"])

    group = Group(env, args.dist_timeout)
    code = train(s, args, env, group, model, rank_file, torch, F)
    if code == 0:
        # Only after a clean finish: after a failed collective, destroying the gloo group joins a worker thread that
        # is still waiting for a peer, and the process would hang instead of exiting (see _exit_now).
        group.close()
    return code


def train(s, args, env, group, model, rank_file, torch, F):
    out = s["output_dir"]
    # Rank 0 decides where to start from and broadcasts the state: every rank agrees even if they could see
    # different files. The output directory's own newest checkpoint wins (this run's progress: a torchrun restart continues from it
    # even when the command line names an older --checkpoint_path); else --checkpoint_path (--resume: continue after
    # it; without: its weights only); else from scratch.
    state = None
    # Checkpoint sync (TRAINING_CHECKPOINT_URI, set by the Kubernetes executor with an artifact store), rank 0 only: a
    # replacement pod starts with an empty output directory, so rank 0 first restores the run's newest epoch checkpoint
    # from the store; the rules below then continue after it. Without the variable nothing here changes.
    sync = None
    if group.rank == 0 and s["job_type"] == "training" and os.environ.get("TRAINING_CHECKPOINT_URI"):
        import checkpoint_store
        sync = checkpoint_store.CheckpointSync.from_environment(r"epoch_(\d+)\.pt")
        if sync is not None and latest_checkpoint(out) is None:
            sync.restore(os.path.join(out, CHECKPOINTS_DIR))
    if group.rank == 0:
        path, continue_training, flag = latest_checkpoint(out), True, "--output_dir"
        if path is None and s["checkpoint_path"] is not None:
            path, continue_training, flag = s["checkpoint_path"], s["resume"], "--checkpoint_path"
        if path is not None:
            ckpt = load_checkpoint(flag, path)
            state = {"path": path, "flag": flag, "continue": continue_training, "ckpt": ckpt}
    state = group.broadcast_object(state)

    start_epoch, step, history, opt_state = 1, 0, [], None
    resumed_from = 0
    if state is not None:
        ckpt = state["ckpt"]
        try:
            model.load_state_dict(ckpt["model"])
        except (RuntimeError, KeyError) as e:
            raise BadInput(f"{state['flag']}: checkpoint {state['path']!r} does not fit model {s['model_name']!r} "
                           f"({str(e).splitlines()[0]})") from None
        if state["continue"]:
            resumed_from = int(ckpt["epoch"])
            start_epoch = resumed_from + 1
            step = int(ckpt.get("step", 0))
            history = [h for h in ckpt.get("history", []) if h.get("epoch", 0) < start_epoch]
            if ckpt.get("optimizer") == s["optimizer"]:
                opt_state = ckpt.get("optimizer_state")
            log(f"resuming from {state['path']} at epoch {start_epoch}")
        else:
            log(f"initialised weights from {state['path']}")

    ddp = model
    if group.distributed:
        from torch.nn.parallel import DistributedDataParallel
        ddp = DistributedDataParallel(model)
    opt = make_optimizer(s["optimizer"], ddp.parameters(), s["learning_rate"])
    if opt_state is not None:
        opt.load_state_dict(opt_state)

    dataset = synthetic_dataset(args.seed, args.samples, s["num_classes"], s["image_size"])
    # Also for a single process (a world of one): the order of epoch e depends on (seed, e) only, so a resumed run
    # sees the same batches as an uninterrupted one.
    from torch.utils.data.distributed import DistributedSampler
    sampler = DistributedSampler(dataset, num_replicas=group.world_size, rank=group.rank, shuffle=True,
                                 seed=args.seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=s["batch_size"], sampler=sampler,
                                         num_workers=args.workers, persistent_workers=args.workers > 0)

    log(f"job {s['job_id']}: {s['job_type']} {s['framework']}/{s['model_name']} task={s['task_type']} "
        f"dataset={s['dataset_path']} ({s['dataset_format']}; {args.samples} synthetic {s['image_size']}px images, "
        f"{s['num_classes']} classes, seed {args.seed}) epochs={s['epochs']} batch_size={s['batch_size']} "
        f"lr={s['learning_rate']} optimizer={s['optimizer']} contract={s['contract']} "
        f"world_size={group.world_size} rank={group.rank} restart={env['restart_count']} torch={torch.__version__}")

    members = group.gather_objects({"rank": group.rank, "local_rank": env["local_rank"],
                                    "hostname": socket.gethostname(), "pid": os.getpid()})

    def evaluate():
        """Loss and accuracy over this rank's share, summed over every rank: identical on all ranks."""
        ddp.eval()
        loss_sum, correct, count = 0.0, 0, 0
        with torch.no_grad():
            for images, labels in loader:
                logits = model(images)
                loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
                correct += (logits.argmax(1) == labels).sum().item()
                count += labels.numel()
        loss_sum, correct, count = group.all_reduce_sum([loss_sum, float(correct), float(count)])
        ddp.train()
        return loss_sum / count, correct / count

    def save(epoch, final):
        if group.rank != 0:
            return
        ckpt = {"job_id": s["job_id"], "epoch": epoch, "total_epochs": s["epochs"], "step": step,
                "model_name": s["model_name"], "num_classes": s["num_classes"], "image_size": s["image_size"],
                "model": model.state_dict(), "optimizer": s["optimizer"], "optimizer_state": opt.state_dict(),
                "history": history, "world_size": group.world_size}
        if final:
            atomic_write(epoch_checkpoint_path(out, epoch), lambda f: torch.save(ckpt, f))
        atomic_write(last_checkpoint_path(out), lambda f: torch.save(ckpt, f))
        if sync is not None:
            if final:
                sync.upload(epoch_checkpoint_path(out, epoch))
            sync.upload(last_checkpoint_path(out), "last.pt")

    def write_metrics(status, epochs_completed, final):
        if group.rank != 0:
            return
        write_json(os.path.join(out, "metrics.json"), {
            "job_id": s["job_id"], "job_type": s["job_type"], "status": status, "framework": s["framework"],
            "model_name": s["model_name"], "world_size": group.world_size,
            "ranks": sorted(members, key=lambda m: m["rank"]),
            "restart_count": env["restart_count"],
            "epochs_completed": epochs_completed, "resumed_from_epoch": resumed_from,
            "final": json_safe(final), "history": history, "torch_version": torch.__version__})

    if s["job_type"] != "training":
        loss, acc = evaluate()
        metrics = {"loss": round(loss, 6), "accuracy": round(acc, 6)}
        progress(1, 1, 0, metrics)
        if s["job_type"] == "export" and group.rank == 0:
            atomic_write(os.path.join(out, WEIGHTS_DIR, "model.pt"), lambda f: torch.save(model.state_dict(), f))
        write_metrics("completed", 0, metrics)
        log(f"{s['job_type']} finished: loss={metrics['loss']:.4f} accuracy={metrics['accuracy']:.4f}")
        return 0

    if args.start_gate:
        rank_file.phase("gate")
        log(f"waiting for the start gate {args.start_gate}")
        wait_for_file(args.start_gate)
    rank_file.phase("training", epoch=start_epoch)

    epoch = start_epoch - 1
    completed = start_epoch - 1
    try:
        for epoch in range(start_epoch, s["epochs"] + 1):
            if args.fail_at_epoch is not None and epoch == args.fail_at_epoch:
                raise RuntimeError(f"simulated training failure at epoch {epoch} (--fail_at_epoch)")
            started = time.monotonic()
            sampler.set_epoch(epoch)
            ddp.train()
            for images, labels in loader:
                if group.any_stop():
                    raise Stopped()
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(ddp(images), labels)
                loss.backward()
                opt.step()
                step += 1
            for i in range(args.log_lines_per_epoch):
                log(f"epoch {epoch} log line {i + 1}/{args.log_lines_per_epoch}: step {step}")
            sleep_interruptibly(args.epoch_seconds)
            loss, acc = evaluate()
            if args.diverge_at_epoch is not None and epoch >= args.diverge_at_epoch:
                loss = float("nan")
            metrics = {"loss": round(loss, 6), "accuracy": round(acc, 6)}
            history.append({"epoch": epoch, "step": step, **json_safe(metrics)})
            completed = epoch
            save(epoch, final=True)
            log(f"Epoch {epoch}/{s['epochs']}: loss={loss:.4f} accuracy={acc:.4f} "
                f"({time.monotonic() - started:.2f}s)")
            progress(epoch, s["epochs"], step, metrics)
            if args.hold_after_epoch == epoch and (args.hold_ranks is None or group.rank in args.hold_ranks):
                rank_file.phase("held", epoch=epoch)
                log(f"holding after epoch {epoch} until {args.hold_gate} exists")
                wait_for_file(args.hold_gate)
                rank_file.phase("training", epoch=epoch + 1)
    except Stopped:
        # The epoch in progress is incomplete: rank 0 saves the weights as of now under the last completed epoch,
        # so a resume repeats it. No collective operation here: a peer may already be gone.
        save(completed, final=False)
        name = "SIGTERM" if _stop_signal == signal.SIGTERM else "SIGINT"
        rank_file.phase("stopped", epoch=completed)
        if group.rank == 0:
            log(f"received {name}: checkpoint saved to {last_checkpoint_path(out)}; exiting")
        else:
            log(f"received {name}; exiting")
        return EXIT_SIGTERM if _stop_signal == signal.SIGTERM else EXIT_SIGINT

    final = history[-1] if history else {"loss": None, "accuracy": None}
    write_metrics("completed", len(history), {"loss": final["loss"], "accuracy": final["accuracy"]})
    rank_file.phase("finished", epoch=completed, final_loss=final["loss"])
    log(f"training finished: {len(history)} epochs, final loss={final['loss']} accuracy={final['accuracy']}; "
        f"world_size={group.world_size}; results in {out}")
    return args.exit_code


def main(argv):
    global RANK, DISTRIBUTED
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        args = build_parser().parse_args(argv)
        env = dist_env()
        RANK = env["rank"]
        DISTRIBUTED = env["world_size"] > 1
        s = resolve(args)
        apply_knobs(args, s["advanced_config"])
        if args.log_bytes is not None:
            if args.log_bytes < 0:
                raise BadInput(f"--log_bytes: {args.log_bytes} must not be negative")
            return write_log_bytes(args.log_bytes) if RANK == 0 else 0
        validate(s, args)
        if RANK == 0:
            write_run_file(s["output_dir"], s)
        import_torch()
        return run(s, args, env)
    except BadInput as e:
        print(f"{PROG}: error: {e}", file=sys.stderr, flush=True)
        return EXIT_BAD_INPUT
    except Stopped:
        return EXIT_SIGTERM if _stop_signal == signal.SIGTERM else EXIT_SIGINT
    except Exception as e:  # a training failure: one summary line, then the traceback for the log
        if _stop_signal is not None:
            # A peer went away while this rank was being stopped (its collective failed): still a stop.
            print(f"{PROG}: stopped ({type(e).__name__}: {e})", file=sys.stderr, flush=True)
            return EXIT_SIGTERM if _stop_signal == signal.SIGTERM else EXIT_SIGINT
        import traceback
        traceback.print_exc()
        print(f"{PROG}: error: training failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return EXIT_FAILURE


def _exit_now(code):
    """Exits a torchrun worker without running destructors. In torch 1.13, after a collective failed (a peer died),
    the gloo process group's destructor joins a worker thread that still waits for that peer: a normal interpreter exit
    hangs until the collective times out, torchrun does not see the worker exit, and the group is not restarted."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    try:
        exit_code = main(sys.argv[1:])
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        exit_code = EXIT_FAILURE
    if DISTRIBUTED:
        _exit_now(exit_code)
    sys.exit(exit_code)
