#!/usr/bin/env bash
# run-host-tests.sh TEST_BINARY...
# Runs each cmocka host test (built with ASan and UBSan) and prints, last,
# "host: N passed, M failed" counted over the test cases of all binaries.
set -uo pipefail
passed=0 failed=0
for t in "$@"; do
  out=$("$t" 2>&1)
  status=$?
  echo "$out" | grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]|ERROR|runtime error|Sanitizer' | sed "s|^|$(basename "$t"): |"
  p=$(echo "$out" | grep -c '^\[       OK \]')
  # cmocka names a failed test once when it fails and again in its group's
  # summary ("[  FAILED  ] N test(s), listed below:"): count the first only.
  f=$(echo "$out" | awk '/^\[  FAILED  \] [0-9]+ test\(s\), listed below:/ { listing = 1; next }
    /^\[ RUN      \]|^\[==========\]/ { listing = 0 }
    /^\[  FAILED  \] [a-z_]/ && !listing { n++ } END { print n + 0 }')
  # A crash or sanitizer report without a cmocka verdict still counts as a failure.
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "$(basename "$t"): exited with status $status"
    echo "$out" | tail -20
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
done
echo "host: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
