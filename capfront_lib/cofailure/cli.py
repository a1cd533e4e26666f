"""``capfront certificate LOG.csv [--alpha A] [--json] [--drop-incomplete | --keep-partial]`` (spec §2.18).

A thin wrapper: load the log with the core loader, call :func:`capfront_lib.cofailure.report.certificate`,
print. Bad input exits with status 2 and a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

JSON_HELP = """JSON keys (schema_version 1; stable, new keys may be added, none renamed or removed):
schema_version, input, alpha, missing_policy, min_model_coverage, n_queries, n_models, models,
dropped_models, n_dropped_queries, n_missing_cells, n_correct, n_answered, accuracy, single_best,
single_best_accuracy, oracle, gain, n_all_wrong, n_all_wrong_complete, beta, beta_ci, beta_lo, asb_lo,
certified_max_gain, mean_pearson, mean_tetrachoric, n_pairs_clamped, n_models_degenerate, beta_sf,
beta_sf_pearson, underpricing_ratio, underpricing_ratio_pearson, co_failure_share, co_failure_share_ci,
regime, regime_certified, regime_tau, n_pairs, n_pairs_used, pairs_sampled, mean_pearson_exact. Undefined values
are null. See the README section on capfront certificate."""


def register(subparsers) -> None:
    """Add the ``certificate`` sub-command to the ``capfront`` parser."""
    p = subparsers.add_parser(
        "certificate",
        help="co-failure ceiling certificate of an outcome log (max gain of any router/vote/cascade)",
        description="Clopper-Pearson certificate on the largest gain any select-one policy (router, vote, cascade) "
        "can have over the single best model, from a wide 0/1 outcome log (id column + one column per model; "
        "blank = not run) or a long log (query_id, model, correct).",
        epilog=JSON_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("log", metavar="LOG.csv", help="wide or long outcome log (CSV/parquet)")
    p.add_argument("--alpha", type=float, default=0.05, help="error level delta in (0, 1) (default 0.05)")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys documented below)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--drop-incomplete", dest="missing", action="store_const", const="drop-incomplete",
                   help="keep complete rows only after the coverage rule (default)")
    g.add_argument("--keep-partial", dest="missing", action="store_const", const="keep-partial",
                   help="keep every row; sound bounds under any missingness")
    p.set_defaults(func=run, missing="drop-incomplete")


def _fail(msg: str) -> int:
    print(f"capfront certificate: {msg}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Handler of ``capfront certificate``; returns the exit status."""
    from capfront_lib.cofailure.report import certificate, format_certificate
    from capfront_lib.core.evallog import load_log

    if not 0 < args.alpha < 1:
        return _fail(f"{args.log}: --alpha must lie in (0, 1), got {args.alpha}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            log = load_log(args.log, missing="keep_partial", min_models=1)
            res = certificate(log, alpha=args.alpha, missing=args.missing, input=str(args.log))
        except (ValueError, FileNotFoundError, KeyError, OSError) as err:
            return _fail(str(err).splitlines()[0] if str(err) else repr(err))
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(res, allow_nan=False))
    else:
        print(format_certificate(res))
    return 0
