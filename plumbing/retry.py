"""One backoff rule for every retry in the sidecar.

Full jitter (AWS's "exponential backoff and jitter"): a uniform pause in [0, min(cap, base * 2^n)].
Replicas that failed together (a Walmart outage, the database restarting) then spread their
retries instead of returning in lockstep, which a fixed exponential schedule would do.
"""

from __future__ import annotations

import random


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
    ceiling = min(cap_s, base_s * 2 ** max(0, attempt))
    return (rng or random).uniform(0, ceiling)
