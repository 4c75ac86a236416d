"""Train one config: `python -m experiments.run --config=PATH[:ARG] [--workdir=DIR] [--config.k=v ...]`.

ARG is the config's comma-separated `key=value` argument (`config.py:smoke`,
`config.py:seed=3,fold=2`); `--config.a.b=v` overrides a single value. The config
is locked: an unknown key or a value of the wrong type fails before any compute.
Rerunning the same command resumes from the workdir's latest checkpoint; a workdir
holds one run of one config (see research/train/workdir.py), and `--adopt_config`
continues it under a changed config on purpose.

A user mistake (config, flags, data files, mesh, workdir) ends with one line on
stderr and exit code 2; `--traceback` (or RESEARCH_TRACEBACK=1) shows its traceback.

Multi-host: pass --coordinator_address/--num_processes/--process_id, or set
--distributed to let `jax.distributed.initialize()` find them (SLURM, TPU pods).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from absl import flags
from absl import logging as absl_logging

from research import config_file, errors

_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (default: config.workdir).")
_ADOPT = flags.DEFINE_bool(
  "adopt_config",
  False,
  "Continue the workdir's run under this config although it "
  "differs from the one it was started with (the old config.json is kept).",
)
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() with auto-detection.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0, for multi-process runs.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", 1, "Number of processes in a multi-process run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", 0, "This process's index in a multi-process run.")

CONFIG_FLAG = "--config"


def split_config_flags(args: Sequence[str]) -> tuple[str | None, dict[str, str], list[str]]:
  """(`--config` value, `--config.<key>` overrides in order, the other arguments)."""
  flag, overrides, rest = None, {}, []
  args = list(args)
  while args:
    arg = args.pop(0)
    name, has_value, value = arg.partition("=")
    if name == CONFIG_FLAG:
      if not has_value:
        if not args:
          raise errors.ConfigError("--config needs a value: --config=PATH[:ARG].")
        value = args.pop(0)
      flag = value
    elif name.startswith(CONFIG_FLAG + "."):
      if not has_value:
        raise errors.ConfigError(f"{arg} needs a value: {arg}=VALUE.")
      overrides[name.removeprefix(CONFIG_FLAG + ".")] = value
    else:
      rest.append(arg)
  return flag, overrides, rest


def parse_command_line(argv: Sequence[str]):
  """The config (locked, overrides applied) and absl's flags parsed; every mistake a ConfigError."""
  flag, overrides, rest = split_config_flags(argv[1:])
  try:
    unparsed = flags.FLAGS([argv[0], *rest])
  except flags.Error as e:
    raise errors.ConfigError(
      f"{e}. Flags: --config=PATH[:ARG], --config.KEY=VALUE, --workdir=DIR, --adopt_config, "
      "--traceback, and the multi-process flags (--helpfull lists them)."
    ) from e
  if len(unparsed) > 1:
    raise errors.ConfigError(f"Unexpected arguments {unparsed[1:]}; flags are written --name=value.")
  if flag is None:
    raise errors.ConfigError(
      "Pass --config=PATH[:ARG], e.g. --config=experiments/benchmarking_gnns_csl/config.py:smoke."
    )
  return flag, config_file.load(flag, overrides)


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


def main(argv: Sequence[str]) -> int:
  flag, config = parse_command_line(argv)
  from research import train  # after the config is parsed: importing jax takes seconds

  initialize_distributed()
  setup_logging()
  workdir = _WORKDIR.value or config.workdir or default_workdir(config_file.split_flag(flag)[0])
  train.train_and_evaluate(config, workdir, adopt_config=_ADOPT.value)
  return 0


if __name__ == "__main__":
  sys.exit(errors.main_with_user_errors(main, sys.argv))
