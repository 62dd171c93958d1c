"""Warm-up for the stress programs run at Ember's defaults.

Under Ember, `warm_up` runs `step` until the named functions are compiled (the compile
server compiles hot code in the background, so only a wait on `ember.stats()` tells);
under python3.12 it runs a few rounds. The programs print nothing that depends on the
number of rounds, so the output stays python3.12's.
"""

import sys
import time


def under_ember() -> bool:
    return "ember._hotness" in sys.modules


def warm_up(step, names, rounds=20, patience=60.0):
    if not under_ember():
        for _ in range(rounds):
            step()
        return
    import ember

    deadline = time.monotonic() + patience
    check_at = 0.0
    while True:
        step()
        now = time.monotonic()
        if now < check_at:
            continue
        compiled = {c["qualname"] for c in ember.stats()["compiled"]}
        if set(names) <= compiled:
            return
        if now > deadline:
            # Shows as a difference from python3.12: the run would not test compiled code.
            print("warm-up: not compiled:", sorted(set(names) - compiled), file=sys.stderr)
            return
        check_at = now + 0.05

