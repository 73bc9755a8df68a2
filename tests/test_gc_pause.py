"""`paused_gc`: the collector is off inside, back on after, and what the block made joins the oldest generation
without a young collection having to walk it."""

from __future__ import annotations

import gc

from agent.gc_pause import paused_gc


def test_objects_made_in_the_block_join_the_oldest_generation_and_the_collector_comes_back():
    assert gc.isenabled()
    thresholds = gc.get_threshold()
    gc.set_threshold(10**9)  # no automatic collection between the block and the checks: where objects sit shows
    try:
        made = _made_in_a_block()
        assert gc.isenabled()
        oldest = {id(o) for o in gc.get_objects(generation=2)}
    finally:
        gc.set_threshold(*thresholds)
    assert id(made[0]) in oldest and id(made[-1]) in oldest

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle made after the block is still collected
    del a, b
    assert gc.collect() >= 2


def _made_in_a_block() -> list:
    with paused_gc():
        assert not gc.isenabled()
        made = [[i] for i in range(20_000)]
        with paused_gc():  # nested: still off, and the outer block decides
            assert not gc.isenabled()
        assert not gc.isenabled()
    return made


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
