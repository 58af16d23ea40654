# SPDX-License-Identifier: MIT
# Background jobs for the suites (sourced, not a suite of its own): builds and
# runs that do not depend on each other use the second processor.
#   job_start FUNCTION ARGS...  runs FUNCTION ARGS... in a background subshell,
#                               once fewer than JOBS_MAX jobs are running (the
#                               jobs start in the order given)
#   job_wait                    waits for every job started
#   report_builds NAME...       prints $B/NAME.failed (a build step's FAIL
#                               lines) for each NAME that has one, in the
#                               order given, and counts each in fails
# JOBS_MAX is P2M_TEST_JOBS if set, else the number of processors, at most 2.
# A job runs in a subshell: its variables are lost and its output would mix
# with the others', so a job writes what it finds to files, and the suite
# reads them after job_wait, in a fixed order.
JOBS_MAX=${P2M_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $JOBS_MAX in '' | *[!0-9]* | 0) JOBS_MAX=1 ;; esac
[ -n "${P2M_TEST_JOBS:-}" ] || [ "$JOBS_MAX" -le 2 ] || JOBS_MAX=2
jobs_dir=""    # one empty file per finished job, named by its number
jobs_running=""
jobs_n=0
jobs_seq=0

# jobs_reap: drops the finished jobs from jobs_running; 1 if none had finished
jobs_reap() {
    jobs_left=""
    jobs_found=1
    for jobs_id in $jobs_running; do
        if [ -f "$jobs_dir/$jobs_id" ]; then
            jobs_found=0
            jobs_n=$((jobs_n - 1))
        else
            jobs_left="$jobs_left$jobs_id "
        fi
    done
    jobs_running=$jobs_left
    return $jobs_found
}

job_start() {
    [ -n "$jobs_dir" ] || jobs_dir=$(mktemp -d "${TMPDIR:-/tmp}/p2m-jobs.XXXXXX") || exit 2
    # a finished job is seen within 0.1 s
    while [ "$jobs_n" -ge "$JOBS_MAX" ]; do
        jobs_reap || sleep 0.1
    done
    jobs_seq=$((jobs_seq + 1))
    ( "$@"; : > "$jobs_dir/$jobs_seq" ) &
    jobs_running="$jobs_running$jobs_seq "
    jobs_n=$((jobs_n + 1))
}

job_wait() {
    wait
    [ -z "$jobs_dir" ] || rm -rf "$jobs_dir"
    jobs_dir=""
    jobs_running=""
    jobs_n=0
}

report_builds() {
    for name in "$@"; do
        [ -f "$B/$name.failed" ] || continue
        cat "$B/$name.failed"
        fails=$((fails + 1))
    done
}
