"""What a block of code leaves for the cyclic garbage collector.

A live server with thousands of connections pauses every socket while the collector
runs; code on the hot path should free its objects by reference counting alone."""

import gc
from contextlib import contextmanager


@contextmanager
def cyclic_garbage():
    """Yields a list that, after the block, holds the objects it left in reference
    cycles (with whatever other threads left meanwhile: filter by type)."""
    found: list = []
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()
