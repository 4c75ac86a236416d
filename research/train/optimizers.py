"""Optax optimizers and learning-rate schedules from `config.optimizer`.

The reduce-on-plateau schedule of Benchmarking GNNs is not a function of the step:
it multiplies the learning rate by `lr_scale`, a value of the train state that
`Plateau.update` lowers on the host after each evaluation. Every schedule is
multiplied by `lr_scale` (1.0 unless a plateau lowered it).
"""

from __future__ import annotations

import dataclasses

import ml_collections
import optax

from research.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "plateau")
SCHEDULE_UNITS = ("step", "epoch")
DECOUPLED_WEIGHT_DECAY = ("adamw",)  # the optimizers that read weight_decay


def _choice(config: ml_collections.ConfigDict, key: str, choices: tuple[str, ...]) -> None:
  if config[key] not in choices:
    raise ConfigError(f"config.optimizer.{key}={config[key]!r}; choose one of {', '.join(choices)}.")


def _at_least(config: ml_collections.ConfigDict, key: str, low: float, *, strict: bool = False) -> None:
  value = config[key]
  if value < low or (strict and value == low):
    bound = f"> {low}" if strict else f">= {low}"
    raise ConfigError(f"config.optimizer.{key}={value!r} must be {bound}.")


def check_config(config: ml_collections.ConfigDict) -> None:
  """Fails on a name or value of `config.optimizer` that the trainer cannot use, naming the key."""
  _choice(config, "name", OPTIMIZERS)
  _choice(config, "schedule", SCHEDULES)
  _choice(config, "schedule_unit", SCHEDULE_UNITS)
  _at_least(config, "learning_rate", 0.0, strict=True)
  for key in (
    "warmup_steps",
    "warmup_epochs",
    "weight_decay",
    "grad_clip_norm",
    "plateau_patience",
    "plateau_threshold",
  ):
    _at_least(config, key, 0)
  for key in ("b1", "b2"):
    if not 0.0 <= config[key] < 1.0:
      raise ConfigError(f"config.optimizer.{key}={config[key]!r} must be in [0, 1).")
  if not 0.0 < config.plateau_factor < 1.0:
    raise ConfigError(f"config.optimizer.plateau_factor={config.plateau_factor!r} must be in (0, 1).")
  if config.weight_decay and config.name not in DECOUPLED_WEIGHT_DECAY:
    raise ConfigError(
      f"config.optimizer.name={config.name!r} does not apply weight_decay={config.weight_decay!r}; "
      "use name='adamw' for decoupled weight decay, or set weight_decay=0."
    )
  if config.warmup_steps and config.warmup_epochs:
    raise ConfigError(
      f"Set config.optimizer.warmup_steps ({config.warmup_steps}) or warmup_epochs ({config.warmup_epochs}), not both."
    )
  if config.schedule_unit == "epoch" and config.warmup_steps:
    raise ConfigError(
      "config.optimizer.schedule_unit='epoch' counts warmup in epochs: set "
      "config.optimizer.warmup_epochs instead of warmup_steps."
    )


def check_warmup(config: ml_collections.ConfigDict, total_steps: int, steps_per_epoch: int) -> None:
  """Fails if the warmup does not end before training does."""
  warmup = config.warmup_steps or config.warmup_epochs * steps_per_epoch
  if warmup >= total_steps:
    what = (
      f"warmup_steps={config.warmup_steps}"
      if config.warmup_steps
      else f"warmup_epochs={config.warmup_epochs} ({warmup} steps)"
    )
    raise ConfigError(
      f"config.optimizer.{what} is not shorter than training ({total_steps} steps); shorten the warmup or train longer."
    )


def check_warmup_before_data(config: ml_collections.ConfigDict, total_steps: int, epochs: int) -> None:
  """`check_warmup` where it needs no data: warmup and training counted in the same unit (steps or epochs)."""
  if total_steps and config.warmup_steps:
    check_warmup(config, total_steps, 1)
  elif not total_steps and config.warmup_epochs and config.warmup_epochs >= epochs:
    raise ConfigError(
      f"config.optimizer.warmup_epochs={config.warmup_epochs} is not shorter than training (config.epochs={epochs}); "
      "shorten the warmup or train longer."
    )


def learning_rate_schedule(
  config: ml_collections.ConfigDict, total_steps: int, steps_per_epoch: int = 1
) -> optax.Schedule:
  """Base learning rate over steps: linear warmup, then constant or cosine decay.

  Warmup lasts `warmup_steps`, or `warmup_epochs` epochs. With
  `schedule_unit="epoch"` the rate changes once per epoch, as a PyTorch
  scheduler stepped every epoch (GraphGPS's `cosine_with_warmup`): the
  schedule runs over epoch indices and every step of an epoch shares its rate.
  """
  check_config(config)
  if config.schedule_unit == "epoch":
    per_epoch = _schedule(config, config.warmup_epochs, max(total_steps // steps_per_epoch, 1))
    return lambda step: per_epoch(step // steps_per_epoch)
  return _schedule(config, config.warmup_steps or config.warmup_epochs * steps_per_epoch, total_steps)


def _schedule(config: ml_collections.ConfigDict, warmup: int, total: int) -> optax.Schedule:
  """Warmup over `warmup` units, then constant or cosine decay to 0 at `total` units."""
  if config.schedule == "cosine":
    return optax.warmup_cosine_decay_schedule(0.0, config.learning_rate, max(warmup, 0), max(total, warmup + 1))
  if warmup > 0:
    return optax.join_schedules(
      [optax.linear_schedule(0.0, config.learning_rate, warmup), optax.constant_schedule(config.learning_rate)],
      [warmup],
    )
  return optax.constant_schedule(config.learning_rate)


def build_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """The optimizer with unit learning rate; the trainer scales updates by lr(step) * lr_scale.

  Gradient clipping is not part of the chain: the trainer clips, so that it can report
  the global norm before and after clipping.
  """
  check_config(config)
  if config.name == "adam":
    return optax.scale_by_adam(b1=config.b1, b2=config.b2)
  if config.name == "adamw":
    return optax.chain(optax.scale_by_adam(b1=config.b1, b2=config.b2), optax.add_decayed_weights(config.weight_decay))
  return optax.identity()


@dataclasses.dataclass
class Plateau:
  """PyTorch's ReduceLROnPlateau (mode 'min', relative threshold, no cooldown), on the host.

  Its fields live in the train state so that a resumed run continues the schedule.
  """

  factor: float
  patience: int
  threshold: float

  def update(self, value: float, best: float, num_bad: int, scale: float) -> tuple[float, int, float]:
    """One evaluation: returns the new (best, num_bad, scale)."""
    if value < best * (1.0 - self.threshold):
      return value, 0, scale
    num_bad += 1
    if num_bad > self.patience:
      return best, 0, scale * self.factor
    return best, num_bad, scale
