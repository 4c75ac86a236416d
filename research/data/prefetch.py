"""Moving host batches onto devices ahead of the training step, in a background thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(batches: Iterator[Any], transfer: Callable[[Any], T], size: int) -> Iterator[T]:
  """Yields `transfer(batch)` for each batch, computed up to `size` batches ahead.

  An exception in the producer is re-raised in the consumer.
  """
  buffer: queue.Queue = queue.Queue(maxsize=max(size, 1))
  stop = threading.Event()

  def produce() -> None:
    try:
      for batch in batches:
        item = transfer(batch)
        while not stop.is_set():
          try:
            buffer.put(item, timeout=0.1)
            break
          except queue.Full:
            continue
        if stop.is_set():
          return
      buffer.put(_DONE)
    except BaseException as error:  # re-raised in the consumer
      buffer.put(error)

  thread = threading.Thread(target=produce, daemon=True, name="prefetch-to-device")
  thread.start()
  try:
    while True:
      item = buffer.get()
      if item is _DONE:
        return
      if isinstance(item, BaseException):
        raise item
      yield item
  finally:
    stop.set()
    thread.join()
