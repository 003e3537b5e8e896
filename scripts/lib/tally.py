#!/usr/bin/env python3
"""Counts every test the test command ran and prints its closing line, `N passed, N failed`.

Reads cargo-nextest's JUnit report, the documentation examples' `cargo test --doc` log and the
end-to-end run's TAP log (node's test runner with `--test-reporter=tap`). Exits non-zero when a
layer ran no test, or fewer tests than its files declare (a suite that silently did not run must
not count as passed). Also lists the ten slowest cargo tests.
"""

import argparse
import pathlib
import re
import sys
import xml.etree.ElementTree as ET


def nextest(path):
    root = ET.parse(path).getroot()
    cases = root.iter("testcase")
    passed = failed = skipped = 0
    timings = []
    for case in cases:
        name = f"{case.get('classname')} {case.get('name')}"
        if case.find("skipped") is not None:
            skipped += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
        timings.append((float(case.get("time") or 0), name))
    return passed, failed, skipped, sorted(timings, reverse=True)


def doctest(path):
    passed = failed = ignored = 0
    for m in re.finditer(r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored",
                         pathlib.Path(path).read_text(), re.M):
        passed, failed, ignored = passed + int(m[1]), failed + int(m[2]), ignored + int(m[3])
    return passed, failed, ignored


def tap(path):
    text = pathlib.Path(path).read_text()
    counts = {k: int(v) for k, v in re.findall(r"^# (tests|pass|fail|skipped|todo|cancelled) (\d+)$", text, re.M)}
    return counts


def declared(folder):
    """Tests the end-to-end files declare: top-level `test('…'` calls."""
    return sum(len(re.findall(r"^test\(", p.read_text(), re.M))
               for p in sorted(pathlib.Path(folder).glob("*.test.mjs")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nextest", required=True)
    ap.add_argument("--nextest-log", required=True)
    ap.add_argument("--doctest", required=True)
    ap.add_argument("--e2e", required=True)
    ap.add_argument("--e2e-files", required=True)
    args = ap.parse_args()
    problems = []

    c_passed, c_failed, c_skipped, timings = nextest(args.nextest)
    # Ignored tests (the benchmarks) are not in the JUnit report; nextest's summary counts them.
    summary = re.findall(r"Summary \[.*\] \d+ tests? run: .*?(\d+) skipped", pathlib.Path(args.nextest_log).read_text())
    c_skipped += int(summary[-1]) if summary else 0
    d_passed, d_failed, d_ignored = doctest(args.doctest)
    e = tap(args.e2e)
    e_declared = declared(args.e2e_files)
    e_passed, e_failed = e.get("pass", 0), e.get("fail", 0) + e.get("cancelled", 0)
    e_skipped = e.get("skipped", 0) + e.get("todo", 0)

    if c_passed + c_failed == 0:
        problems.append("cargo-nextest ran no test")
    if d_passed + d_failed == 0:
        problems.append("no documentation example ran")
    if e.get("tests", 0) < e_declared or e_passed + e_failed + e_skipped < e_declared:
        problems.append(f"end-to-end: the files declare {e_declared} tests but {e.get('tests', 0)} ran")

    print("\nSlowest cargo tests:")
    for seconds, name in timings[:10]:
        print(f"  {seconds:7.1f} s  {name}")
    print(f"\ncargo: {c_passed} passed, {c_failed} failed, {c_skipped} skipped (skipped: the ignored benchmarks)")
    print(f"documentation examples: {d_passed} passed, {d_failed} failed, {d_ignored} ignored")
    print(f"end-to-end: {e_passed} passed, {e_failed} failed, {e_skipped} skipped "
          f"({e_declared} declared in {args.e2e_files})")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    passed, failed = c_passed + d_passed + e_passed, c_failed + d_failed + e_failed
    print(f"{passed} passed, {failed} failed")
    return 1 if problems or failed else 0


if __name__ == "__main__":
    sys.exit(main())
