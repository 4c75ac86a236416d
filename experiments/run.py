"""Train one config: `python -m experiments.run --config=PATH[:ARG] [--workdir=DIR] [--config.k=v ...]`.

ARG is the config's comma-separated `key=value` argument (`config.py:smoke`,
`config.py:seed=3,fold=2`); `--config.a.b=v` overrides a single value. The config
is locked: an unknown key or a value of the wrong type fails before any compute.
Rerunning the same command resumes from the workdir's latest checkpoint.

Multi-host: pass --coordinator_address/--num_processes/--process_id, or set
--distributed to let `jax.distributed.initialize()` find them (SLURM, TPU pods).
"""

from __future__ import annotations

import logging
import os
import sys

from absl import app, flags
from absl import logging as absl_logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file, with an optional :ARG.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (default: config.workdir).")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() with auto-detection.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0, for multi-process runs.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", 1, "Number of processes in a multi-process run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", 0, "This process's index in a multi-process run.")


def initialize_distributed() -> None:
  """Joins a multi-process run when asked to; a single process needs nothing."""
  import jax

  if _COORDINATOR.value:
    # CPU processes exchange collectives over gloo; accelerators use their own transport.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(_COORDINATOR.value, num_processes=_NUM_PROCESSES.value, process_id=_PROCESS_ID.value)
  elif _DISTRIBUTED.value:
    jax.distributed.initialize()


def setup_logging() -> None:
  """Our progress lines on stdout (process 0 only); library chatter (orbax, absl) only from warnings up."""
  absl_logging.set_verbosity(absl_logging.WARNING)
  handler = logging.StreamHandler(sys.stdout)
  handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
  import jax

  logger = logging.getLogger("research")
  logger.setLevel(logging.INFO if jax.process_index() == 0 else logging.WARNING)
  logger.addHandler(handler)
  logger.propagate = False


def default_workdir(config_path: str) -> str:
  return os.path.join("runs", os.path.basename(os.path.dirname(os.path.abspath(config_path))) or "default")


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  initialize_distributed()
  setup_logging()
  from research import train

  config = _CONFIG.value
  config_path = config_flags.get_config_filename(flags.FLAGS["config"])
  workdir = _WORKDIR.value or config.workdir or default_workdir(config_path)
  train.train_and_evaluate(config, workdir)


if __name__ == "__main__":
  flags.mark_flag_as_required("config")
  app.run(main)
