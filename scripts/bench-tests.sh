#!/usr/bin/env bash
# The vitest suite's duration, this checkout beside a baseline revision, in the same run: the
# baseline in a temporary git worktree (npm ci, build), then this checkout, one after the other on
# the same machine. Prints, for each, the wall clock, the CPU time and the sum of the files'
# durations, and the slowest files. The worktree is removed at the end.
#
#   scripts/bench-tests.sh [BASE_REV]     # default: the merge base with main
#   OFFLINE=1 scripts/bench-tests.sh ...  # this checkout in a network namespace with only loopback (root)
#   FILTER=test/protocol scripts/bench-tests.sh ...  # only the files whose path contains FILTER
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
base_rev=${1:-$(git merge-base HEAD main)}
base=$(mktemp -d /tmp/pk-bench-tests-XXXXXX)
out=$(mktemp -d /tmp/pk-bench-tests-out-XXXXXX)
cleanup() {
  git -C "$here" worktree remove --force "$base" >/dev/null 2>&1 || rm -rf "$base"
  rm -rf "$out"
}
trap cleanup EXIT

git worktree add --detach "$base" "$base_rev" >/dev/null
(cd "$base" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run build >/dev/null)
npm run build >/dev/null

# run NAME DIR [WRAPPER...]: vitest with a JSON report, timed.
run() {
  local name=$1 dir=$2
  shift 2
  local started=$SECONDS
  (cd "$dir" && TIMEFORMAT="%U %S" && { time "$@" npx vitest run ${FILTER:-} --reporter=json \
    --outputFile="$out/$name.json" >"$out/$name.log" 2>&1 || true; } 2>"$out/$name.cpu")
  echo "$((SECONDS - started)) $(cat "$out/$name.cpu")" >"$out/$name.time"
}
run baseline "$base"
if [ "${OFFLINE:-}" = 1 ]; then
  run ours "$here" unshare -n sh -c 'ip link set lo up; exec "$@"' sh
else
  run ours "$here"
fi

node - "$out" <<'JS'
const { readFileSync } = require('node:fs');
const out = process.argv[2];
for (const name of ['baseline', 'ours']) {
  const report = JSON.parse(readFileSync(`${out}/${name}.json`, 'utf8'));
  const [wall, user, sys] = readFileSync(`${out}/${name}.time`, 'utf8').trim().split(' ').map(Number);
  const files = report.testResults
    .map((f) => ({ file: f.name.split('/test/').pop(), s: (f.endTime - f.startTime) / 1000 }))
    .sort((a, b) => b.s - a.s);
  const sum = files.reduce((t, f) => t + f.s, 0);
  console.log(
    `${name.padEnd(8)} wall ${wall} s, CPU ${(user + sys).toFixed(0)} s, sum of files ${sum.toFixed(0)} s, ` +
      `${report.numPassedTests}/${report.numTotalTests} tests passed, ${files.length} files`,
  );
  console.log(`         slowest: ${files.slice(0, 5).map((f) => `${f.file} ${f.s.toFixed(1)}`).join(', ')}`);
  // The reports are removed with the run: a failure is named here, or it is never known.
  for (const file of report.testResults) {
    for (const test of file.assertionResults.filter((t) => t.status === 'failed')) {
      const why = (test.failureMessages[0] ?? '').split('\n')[0].slice(0, 160);
      console.log(`         FAILED ${file.name.split('/test/').pop()} > ${test.fullName}: ${why}`);
    }
  }
}
JS
