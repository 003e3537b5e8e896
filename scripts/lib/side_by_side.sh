#!/usr/bin/env bash
# Runs commands at the same time, each with its output in its own log, and shows each log once
# all have ended. Fails when any command failed.
#
#   side_by_side.sh LOG1 'COMMAND1' LOG2 'COMMAND2' ...
#
# The test command runs the Rust tests and the browser tests side by side: both mostly wait on
# sockets and the sandbox (two cores stay more than half idle while either runs alone).
set -uo pipefail

pids=() logs=() names=()
while (($# >= 2)); do
  log=$1 cmd=$2
  shift 2
  bash -o pipefail -c "$cmd" >"$log" 2>&1 &
  pids+=("$!") logs+=("$log") names+=("$cmd")
  echo "started: $cmd (output in $log)"
done

failed=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then status=passed; else status=FAILED failed=1; fi
  echo "──── ${logs[$i]} ($status)"
  cat "${logs[$i]}"
done
exit "$failed"
