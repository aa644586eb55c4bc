# SPDX-License-Identifier: GPL-3.0-or-later
"""Counted checks for the Python test drivers: one FAIL line per failed
check, with a detail cut to a readable length."""


class Checks:
    def __init__(self, detail_max=600):
        self.passed = self.failed = 0
        self.detail_max = detail_max

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s%s" % (what, (": " + str(detail)[:self.detail_max]) if detail else ""))
        return cond
