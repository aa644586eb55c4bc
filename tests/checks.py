# SPDX-License-Identifier: GPL-3.0-or-later
"""Counted checks for the Python test drivers: one FAIL line per failed
check, with a detail cut to a readable length."""


class Checks:
    """show_passed: an "ok" line for each check that passed too."""

    def __init__(self, detail_max=600, show_passed=False):
        self.passed = self.failed = 0
        self.detail_max = detail_max
        self.show_passed = show_passed

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            if self.show_passed:
                print("ok  ", what)
        else:
            self.failed += 1
            print("FAIL: %s%s" % (what, (": " + str(detail)[:self.detail_max]) if detail else ""))
        return cond
