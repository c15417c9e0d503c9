# Shared by the scripts/docker-*.sh scripts (sourced, not run): counted checks and small waits.

checks_passed=0
checks_failed=0

# check NAME COMMAND...: runs COMMAND, counts it, says PASS or FAIL with NAME, and sets check_ok to
# 1 or 0. Returns 0 either way, so that a failed check does not end a `set -e` script.
check_ok=0
check() {
  local check_name=$1 # not `name`: the command must see the caller's variables
  shift
  if "$@"; then
    checks_passed=$((checks_passed + 1))
    check_ok=1
    echo "PASS: $check_name"
  else
    checks_failed=$((checks_failed + 1))
    check_ok=0
    echo "FAIL: $check_name" >&2
  fi
}

# The closing line test runners read. Returns non-zero when a check failed.
checks_summary() {
  echo "${checks_passed} passed, ${checks_failed} failed"
  [[ $checks_failed -eq 0 ]]
}

# until_true SECONDS COMMAND...: polls COMMAND once a second until it succeeds; fails after SECONDS.
until_true() {
  local limit=$1
  shift
  local waited=0
  until "$@"; do
    waited=$((waited + 1))
    [[ $waited -lt $limit ]] || return 1
    sleep 1
  done
}
