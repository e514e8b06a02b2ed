#!/usr/bin/env sh
# Run the tracelock lock gate in any CI system (GitLab, Jenkins, Buildkite, a Makefile, a git hook).
#
# Configure with environment variables; exactly one results source is required:
#   TRACELOCK_RESULTS_FILE  eval results JSONL already produced by an earlier step
#   TRACELOCK_RUN_ID        an eval run stored in tracelock (needs TRACELOCK_CLICKHOUSE_URL or a data dir)
#   TRACELOCK_RUNNER        a command that runs the evals; it gets $TRACELOCK_RESULTS (a file to write
#                           results JSONL to; stdout also works) and $TRACELOCK_LOCKS, and exits 0
# Optional:
#   TRACELOCK_LOCKS         lock directory (default: locks)
#   TRACELOCK_RELEASE       release tag recorded with the run (default: $CI_COMMIT_SHA, $GIT_COMMIT or git HEAD)
#   TRACELOCK_BASELINE      compare with the last passing run of this release tag (needs a store)
#   TRACELOCK_REPORT_DIR    where locks.xml (JUnit) and locks.md (PR comment) go (default: reports)
#   TRACELOCK_RECORD        1 to write lock_results to the store (default: 1 when a ClickHouse URL is set)
#   TRACELOCK_EXTRA_ARGS    more `tracelock lock check` options, e.g. "--min-pass-rate 0.95"
#
# Exit code = the gate's: 0 all locks hold, 1 a lock regressed or is missing, 2 usage or configuration
# error, 3 the runner or the store failed (infrastructure: worth a retry, not a code review).
set -u

TRACELOCK=${TRACELOCK:-tracelock}
LOCKS=${TRACELOCK_LOCKS:-locks}
REPORT_DIR=${TRACELOCK_REPORT_DIR:-reports}
RELEASE=${TRACELOCK_RELEASE:-${CI_COMMIT_SHA:-${GIT_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo local)}}}

if [ -n "${TRACELOCK_RESULTS_FILE:-}" ]; then
    set -- --results "$TRACELOCK_RESULTS_FILE"
elif [ -n "${TRACELOCK_RUN_ID:-}" ]; then
    set -- --run-id "$TRACELOCK_RUN_ID"
elif [ -n "${TRACELOCK_RUNNER:-}" ]; then
    set -- --runner "$TRACELOCK_RUNNER"
else
    echo "lock-gate: set TRACELOCK_RESULTS_FILE, TRACELOCK_RUN_ID or TRACELOCK_RUNNER" >&2
    exit 2
fi

if [ "${TRACELOCK_RECORD:-}" = "1" ] || { [ -z "${TRACELOCK_RECORD:-}" ] && [ -n "${TRACELOCK_CLICKHOUSE_URL:-}" ]; }; then
    set -- "$@" --record
else
    set -- "$@" --no-record
fi
if [ -n "${TRACELOCK_BASELINE:-}" ]; then
    set -- "$@" --baseline "$TRACELOCK_BASELINE"
fi

"$TRACELOCK" lock validate --locks "$LOCKS" || exit $?

mkdir -p "$REPORT_DIR"
# shellcheck disable=SC2086  # TRACELOCK_EXTRA_ARGS is split on purpose
"$TRACELOCK" lock check --locks "$LOCKS" "$@" --release "$RELEASE" \
    --junit "$REPORT_DIR/locks.xml" --markdown "$REPORT_DIR/locks.md" ${TRACELOCK_EXTRA_ARGS:-}
code=$?
case $code in
    0) echo "lock-gate: all locks hold" ;;
    1) echo "lock-gate: a lock regressed or is missing (see $REPORT_DIR/locks.md)" >&2 ;;
    2) echo "lock-gate: usage or configuration error (lock files, options, results file)" >&2 ;;
    3) echo "lock-gate: the eval runner or the store failed; retry or fix the infrastructure" >&2 ;;
    *) echo "lock-gate: unexpected exit code $code" >&2 ;;
esac
exit $code
