"""Shared core of capfront: evaluation logs, parameter checks, results/claims, plotting, environment."""

from capfront_lib.core.evallog import EvalLog, from_long, from_wide, load_log
from capfront_lib.core.demo import demo_log
from capfront_lib.core.results import write_results, read_claims

__all__ = [
    "EvalLog",
    "from_long",
    "from_wide",
    "load_log",
    "demo_log",
    "write_results",
    "read_claims",
]
