# SPDX-License-Identifier: GPL-3.0-or-later
"""Many `sipauthmon -r` runs at once: tests/driver/batch.c on every core.

    import batch
    results = batch.run_many(BATCH_EXE, [["-r", "a.pcap", "-o", "json"], ...])
    for rc, out, err in results: ...

Each job is the argument list sipauthmon would take after its name, and gives
(exit status, standard output, standard error) as if the binary had run it:
rc is the status 0/1/2, or the negative signal number when the run crashed
(a sanitizer's abort, say: its report is in err). The jobs are dealt round
the cores, each share to one sipauthmon-batch process; when one dies in a
job, a new one takes the rest of its share, so one crash costs one job.
Standard library only.
"""

import concurrent.futures
import os
import subprocess
import tempfile


def _share(exe, jobs, tmp, tag, timeout):
    """Run [(index, args)] in sipauthmon-batch processes; {index: (rc, out, err)}."""
    results = {}
    todo = list(jobs)
    attempt = 0
    while todo:
        attempt += 1
        listing = os.path.join(tmp, f"{tag}.{attempt}.jobs")
        with open(listing, "w", encoding="utf-8") as f:
            for i, args in todo:
                if any("\t" in a or "\n" in a for a in args):
                    raise ValueError(f"job {i}: an argument holds a tab or a newline: {args}")
                f.write("\t".join([os.path.join(tmp, f"{i}.out"), os.path.join(tmp, f"{i}.err")]
                                  + list(args)) + "\n")
        with open(listing, "rb") as jobs_in:
            try:
                p = subprocess.run([exe], stdin=jobs_in, capture_output=True, timeout=timeout,
                                   check=False)
                statuses, rc_batch, own_err = p.stdout.split(), p.returncode, p.stderr
            except subprocess.TimeoutExpired as e:
                statuses, rc_batch = (e.stdout or b"").split(), None
                own_err = b"sipauthmon-batch timed out after %d s\n" % timeout
        for (i, _args), st in zip(todo, statuses):
            results[i] = (int(st), _read(tmp, i, "out"), _read(tmp, i, "err"))
        done = len(statuses)
        if done == len(todo):
            if rc_batch != 0:
                raise RuntimeError(f"sipauthmon-batch exit {rc_batch}: {own_err[-2000:]!r}")
            break
        # The process ended inside job `done`: that job crashed (or hung).
        i = todo[done][0]
        # A process that exited inside a job gives the status the binary would.
        results[i] = (rc_batch if rc_batch is not None else -9, _read(tmp, i, "out"), _read(tmp, i, "err") + own_err)
        todo = todo[done + 1:]
    return results


def _read(tmp, i, kind):
    try:
        with open(os.path.join(tmp, f"{i}.{kind}"), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def run_many(exe, jobs, workers=None, timeout=600):
    """[(rc, stdout, stderr)] for each job of jobs, in order."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    indexed = list(enumerate(jobs))
    results = {}
    with tempfile.TemporaryDirectory(prefix="sipauthmon-batch-") as tmp:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(_share, exe, indexed[k::workers], tmp, f"w{k}", timeout)
                       for k in range(workers)]
            for fut in futures:
                results.update(fut.result())
    return [results[i] for i in range(len(jobs))]
