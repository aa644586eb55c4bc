#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Several inputs of one offline run (issue 16, sipauthmon(8) -r).

-r is repeatable and takes a directory; the files are read as one stream in
timestamp order (a k-way merge), so that:
  * -r a -r b and -r DIR report every file's diagnoses;
  * a golden capture split in two rotated files (as tcpdump -G/-C writes
    them), given in either order, gives exactly the output of the whole file;
  * two overlapping captures (a capture's packets dealt alternately into two
    files) merge back into the whole capture's output;
  * gzip and zstd captures (told by magic, not by name, stdin included) give
    the records of the plain file;
  * a file that cannot be read is named on stderr, exit 2, and the other
    files' diagnoses are still written;
  * SIGUSR1 during -r writes the counters to stderr and changes nothing else
    (the input is a FIFO, so the signal arrives while the run is paused:
    nothing is left to timing);
  * the progress line appears on a terminal's stderr (a pty) while a FIFO is
    read, is erased at the end, never reaches stdout, and is absent with -q or
    when stderr is not a terminal;
  * the messages of issue 16 are one clear sentence each.

Usage: test_inputs.py --sipauthmon PATH     (standard library only; zstd(1) for .zst)
Exit: 0 all passed, 1 a failure, 77 nothing could run.
"""

import argparse
import fcntl
import gzip
import importlib.util
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "golden" / "captures"
sys.path.insert(0, str(HERE.parent))
from checks import Checks  # noqa: E402


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# The capture builders of the CLI test (Ethernet/IPv4/UDP SIP with real digests).
cli = _load(HERE / "test_cli.py", "cli_builders")
WAIT_S = 30 * float(os.environ.get("TEST_TIME_SCALE", "1"))  # a bound, never a pause


class Env:
    def __init__(self, exe, tmp):
        self.exe = exe
        self.tmp = Path(tmp)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("INVOCATION_ID", "JOURNAL_STREAM", "NO_COLOR")}

    def run(self, args, stdin_data=None):
        p = subprocess.run([self.exe] + args, input=stdin_data, capture_output=True,
                           timeout=60, env=self.env)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def write(self, name, data):
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return str(path)


def users_of(out):
    return sorted(d.get("user") for d in cli.json_lines(out))


def split_pcap(data, cut):
    """Two valid captures: the records before index cut and the rest, each with the header."""
    hdr, recs = cli.pcap_records(data)
    header = data[:24]
    offs = [o for o, _ in recs] + [len(data)]
    return header + data[24:offs[cut]], header + data[offs[cut]:]


def deal(data):
    """Two overlapping captures: records dealt alternately (even, odd)."""
    _, recs = cli.pcap_records(data)
    header = data[:24]
    return (header + b"".join(r for i, (_, r) in enumerate(recs) if i % 2 == 0),
            header + b"".join(r for i, (_, r) in enumerate(recs) if i % 2 == 1))


def one_error(err, *needles):
    lines = [l for l in err.splitlines() if l.strip()]
    return len(lines) == 1 and lines[0].startswith("sipauthmon: ") and all(
        n in lines[0] for n in needles)


def test_several(e, c):
    a = e.write("a.pcap", cli.pcap_bytes(cli.exchange("alice", "198.51.100.10", cli.T0, 4, False)))
    b = e.write("b.pcap", cli.pcap_bytes(cli.exchange("carol", "198.51.100.11", cli.T0 + 3600,
                                                      4, False)))
    rc, out, err = e.run(["-r", a, "-r", b, "-o", "json"])
    c.check(rc == 1 and users_of(out) == ["alice", "carol"], "-r a -r b: both files' diagnoses",
            f"rc={rc} users={users_of(out)} err={err!r}")
    rc2, out2, _ = e.run(["-r", b, "-r", a, "-o", "json"])
    c.check(rc2 == 1 and out2 == out, "-r b -r a: the same stream (time order, not argument order)",
            f"rc={rc2}")

    d = e.tmp / "dir"
    for name, src in (("1.pcap", a), ("2.pcap", b)):
        e.write(f"dir/{name}", Path(src).read_bytes())
    e.write("dir/.hidden.pcap", cli.pcap_bytes(cli.exchange("mallory", "198.51.100.12",
                                                            cli.T0, 4, False)))
    e.write("dir/README", b"not a capture\n")
    e.write("dir/sub/3.pcap", Path(a).read_bytes())
    rc, out3, err = e.run(["-r", str(d), "-o", "json"])
    c.check(rc == 1 and out3 == out and err == "",
            "-r DIR: its non-hidden capture files, subdirectories and other files skipped",
            f"rc={rc} users={users_of(out3)} err={err!r}")

    rc, out4, err = e.run(["-r", "-", "-r", b, "-o", "json"], stdin_data=Path(a).read_bytes())
    c.check(rc == 1 and out4 == out, "-r - -r b: stdin merged with a file", f"rc={rc} {err!r}")


def test_rotated(e, c):
    for name in ("wrong-password.pcap", "credential-guessing.pcap"):
        g = GOLDEN / name
        if not g.exists():
            print(f"skip rotated {name}: not present")
            continue
        data = g.read_bytes()
        _, recs = cli.pcap_records(data)
        first, second = split_pcap(data, len(recs) // 2)
        p1 = e.write(f"rot/{name}.0", first)
        p2 = e.write(f"rot/{name}.1", second)
        rc, whole, _ = e.run(["-r", str(g), "-o", "json"])
        n = len(cli.json_lines(whole))
        for order in ((p1, p2), (p2, p1)):
            rc2, out, err = e.run(["-r", order[0], "-r", order[1], "-o", "json"])
            c.check(rc2 == rc == 1 and out == whole and n >= 1,
                    f"{name} split in two rotated files: the whole file's {n} diagnosis(es)",
                    f"rc={rc2} out={out[:300]!r} whole={whole[:300]!r} err={err!r}")
    # The one-diagnosis case of the brief: a streak cut in the middle.
    g = GOLDEN / "wrong-password.pcap"
    if g.exists():
        rc, whole, _ = e.run(["-r", str(g), "-o", "json"])
        c.check(len(cli.json_lines(whole)) == 1, "wrong-password.pcap is one diagnosis",
                f"{whole[:200]!r}")


def test_many(e, c):
    """More files than stay open from the first look (INPUTS_OPEN_MAX, 16): the
    files are opened again when the merge reaches their first packet."""
    g = GOLDEN / "mixed-sample.pcap"
    data = g.read_bytes() if g.exists() else cli.pcap_bytes(cli.wrong_password_packets(users=9))
    header = data[:24]
    _, recs = cli.pcap_records(data)
    rc, whole, _ = e.run(["-r", e.write("many-whole.pcap", data), "-o", "json"])
    for i, (_, rec) in enumerate(recs):  # a ring of one-packet files
        e.write(f"ring/sip_{i:05d}.pcap", header + rec)
    rc1, out1, err1 = e.run(["-r", str(e.tmp / "ring"), "-o", "json"])
    c.check(rc1 == rc == 1 and out1 == whole and len(recs) > 16,
            f"a ring of {len(recs)} one-packet files: the whole capture's output",
            f"rc={rc1} err={err1[:200]!r}")
    for i in range(20):  # 20 overlapping files, dealt round-robin
        e.write(f"dealt/{i:02d}.pcap", header + b"".join(
            r for k, (_, r) in enumerate(recs) if k % 20 == i))
    rc2, out2, err2 = e.run(["-r", str(e.tmp / "dealt"), "-o", "json"])
    c.check(rc2 == 1 and out2 == whole, "20 overlapping files: merged into the whole capture",
            f"rc={rc2} err={err2[:200]!r}")


def test_overlap(e, c):
    data = cli.pcap_bytes(cli.wrong_password_packets(users=6, attempts=4))
    whole = e.write("ov-whole.pcap", data)
    even, odd = deal(data)
    pe, po = e.write("ov-even.pcap", even), e.write("ov-odd.pcap", odd)
    rc, ref, _ = e.run(["-r", whole, "-o", "json", "--stats"])
    rc1, alone, _ = e.run(["-r", pe, "-o", "json"])
    rc2, out, err = e.run(["-r", po, "-r", pe, "-o", "json", "--stats"])
    st, st_ref = cli.parse_stats(err), cli.parse_stats(_stats_err(e, whole))
    c.check(rc == rc2 == 1 and out == ref and len(cli.json_lines(ref)) == 6
            and st.get("packets.total") == st_ref.get("packets.total"),
            "two overlapping captures merge in timestamp order: the whole capture's output",
            f"rc={rc2} out={len(out)} ref={len(ref)} stats={st.get('packets.total')}")
    c.check(alone != ref, "one of the two alone does not give it (the merge is what does)",
            f"rc={rc1}")


def _stats_err(e, path):
    return e.run(["-r", path, "-o", "json", "--stats"])[2]


def test_compressed(e, c):
    plain = GOLDEN / "mixed-sample.pcap"
    data = plain.read_bytes() if plain.exists() else cli.pcap_bytes(
        cli.wrong_password_packets(users=3))
    p = e.write("c.pcap", data)
    rc, ref, _ = e.run(["-r", p, "-o", "json"])
    c.check(rc == 1 and ref, "compressed: the plain reference has records", f"rc={rc}")
    gz = e.write("c.pcap.gz", gzip.compress(data))
    rc, out, err = e.run(["-r", gz, "-o", "json"])
    c.check(rc == 1 and out == ref, ".gz: the plain file's records", f"rc={rc} err={err!r}")
    noname = e.write("gzip-named-plainly.pcap", gzip.compress(data))
    rc, out, err = e.run(["-r", noname, "-o", "json"])
    c.check(rc == 1 and out == ref, "gzip told by its magic, not by the name", f"rc={rc} {err!r}")
    rc, out, err = e.run(["-r", "-", "-o", "json"], stdin_data=gzip.compress(data))
    c.check(rc == 1 and out == ref, "gzip on stdin", f"rc={rc} {err!r}")
    cut = e.write("cut.pcap.gz", gzip.compress(data)[:-200])
    rc, out, err = e.run(["-r", cut, "-o", "json"])
    c.check(rc == 2 and one_error(err, cut, "gzip", "truncated"),
            "truncated .gz: exit 2, one line naming it", f"rc={rc} {err!r}")
    if not shutil.which("zstd"):
        print("skip .zst: zstd(1) not installed")
        return
    zst = str(e.tmp / "c.pcap.zst")
    subprocess.run(["zstd", "-q", "-f", p, "-o", zst], check=True)
    rc, out, err = e.run(["-r", zst, "-o", "json"])
    c.check(rc == 1 and out == ref, ".zst: the plain file's records", f"rc={rc} err={err!r}")
    rc, out, err = e.run(["-r", "-", "-o", "json"], stdin_data=Path(zst).read_bytes())
    c.check(rc == 1 and out == ref, "zstd on stdin", f"rc={rc} {err!r}")
    rc, out, err = e.run(["-r", zst, "-r", gz, "-r", p, "-o", "json", "--stats"])
    c.check(rc == 1 and cli.parse_stats(err).get("packets.total", 0) > 0,
            "plain, .gz and .zst together in one run", f"rc={rc}")


def test_messages(e, c):
    empty = e.write("empty.pcap", b"")
    rc, out, err = e.run(["-r", empty])
    c.check(rc == 2 and one_error(err, empty, "empty (0 bytes), not a capture")
            and "truncated dump file" not in err, "empty file: one clear sentence",
            f"rc={rc} {err!r}")
    xz = e.write("c.pcap.xz", b"\xfd7zXZ\x00" + b"\x00" * 64)
    rc, out, err = e.run(["-r", xz])
    c.check(rc == 2 and one_error(err, f"xzcat {xz} | sipauthmon -r -"),
            "xz file: refused with the 'xzcat FILE | sipauthmon -r -' hint", f"rc={rc} {err!r}")
    bz = e.write("c.pcap.bz2", b"BZh91AY&SY" + b"\x00" * 64)
    rc, out, err = e.run(["-r", bz])
    c.check(rc == 2 and one_error(err, f"bzcat {bz} | sipauthmon -r -"),
            "bzip2 file: refused with the bzcat hint", f"rc={rc} {err!r}")
    nocap = e.tmp / "nocap"
    e.write("nocap/notes.txt", b"hello\n")
    e.write("nocap/.hidden.pcap", cli.pcap_bytes(cli.healthy_packets()))
    rc, out, err = e.run(["-r", str(nocap)])
    c.check(rc == 2 and one_error(err, str(nocap), "no capture files in this directory"),
            "directory without captures: one clear sentence", f"rc={rc} {err!r}")
    wp = e.write("m-wp.pcap", cli.pcap_bytes(cli.wrong_password_packets()))
    missing = str(e.tmp / "missing.pcap")
    rc, out, err = e.run(["-r", missing, "-r", wp, "-o", "json"])
    c.check(rc == 2 and one_error(err, missing) and users_of(out) == ["alice"],
            "a missing file among others: named, exit 2, the others' diagnoses kept",
            f"rc={rc} out={out[:200]!r} err={err!r}")
    cut = e.write("m-cut.pcap", cli.pcap_bytes(
        cli.exchange("carol", "198.51.100.11", cli.T0 + 10, 4, False)
        + [cli.junk_packet(cli.T0 + 100)])[:-100])
    rc, out, err = e.run(["-r", cut, "-r", wp, "-o", "json"])
    c.check(rc == 2 and one_error(err, cut, "truncated") and users_of(out) == ["alice", "carol"],
            "a damaged file among others: named, exit 2, every diagnosis kept",
            f"rc={rc} out={users_of(out)} err={err!r}")
    if os.geteuid() == 0:
        rc, out, err = e.run(["-i", "sipauthmonnosuch0"])
        c.check(rc == 2 and one_error(err, "sipauthmonnosuch0: no such network interface",
                                      "ip link")
                and "No such device exists: No such device exists" not in err,
                "-i on a missing interface: one clear sentence with the fix", f"rc={rc} {err!r}")
    else:
        print("skip -i missing interface: needs root")
    # The start banner (notice level, not with -q) names the HEP port really bound.
    p = subprocess.Popen([e.exe, "--hep-listen", "127.0.0.1:0", "-o", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e.env)
    try:
        line = _readline(p.stderr, WAIT_S)
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=WAIT_S)
    m = re.match(rb"^sipauthmon: listening for HEP on 127\.0\.0\.1:(\d+)\n$", line)
    c.check(m is not None and int(m.group(1)) > 0,
            "--hep-listen 127.0.0.1:0: the banner names the bound port without -v", f"{line!r}")
    p = subprocess.run([e.exe, "--hep-listen", "127.0.0.1:0", "-q", "--duration", "1"],
                       capture_output=True, timeout=WAIT_S, env=e.env)
    c.check(p.stderr == b"", "-q: no banner", f"{p.stderr!r}")


def _readline(f, limit):
    """One line from a pipe, within limit seconds (the event, not a pause)."""
    buf = b""
    deadline = time.monotonic() + limit
    while not buf.endswith(b"\n") and time.monotonic() < deadline:
        if select.select([f], [], [], 0.5)[0]:
            ch = os.read(f.fileno(), 1)
            if not ch:
                break
            buf += ch
    return buf


def open_fifo_writer(path, proc):
    """Open the FIFO once the reader has it open: sipauthmon's signal handlers are
    installed before it opens its inputs, so from then on a signal is safe."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.01)  # polling for the reader, not waiting for an outcome
            continue
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return fd
    return -1


def test_usr1(e, c):
    data = cli.pcap_bytes(cli.wrong_password_packets(users=40, attempts=4))
    path = e.write("usr1.pcap", data)
    rc_ref, ref, _ = e.run(["-r", path, "-o", "json"])
    fifo = str(e.tmp / "usr1.fifo")
    os.mkfifo(fifo)
    p = subprocess.Popen([e.exe, "-r", fifo, "-o", "json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e.env)
    fd = open_fifo_writer(fifo, p)
    if fd < 0:
        p.kill()
        p.communicate()
        c.check(False, "SIGUSR1: sipauthmon opened the FIFO")
        return
    half = len(data) // 2
    os.write(fd, data[:half])
    p.send_signal(signal.SIGUSR1)  # paused, reading the FIFO: mid-run for sure
    os.write(fd, data[half:])
    os.close(fd)
    out, err = p.communicate(timeout=WAIT_S)
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    st = cli.parse_stats(err)
    c.check(p.returncode == rc_ref == 1 and out == ref and len(cli.json_lines(ref)) == 40,
            "SIGUSR1 during -r: the run goes on, stdout and exit status as undisturbed",
            f"rc={p.returncode} out={len(out)} ref={len(ref)} err={err[:300]!r}")
    c.check(err.count("sipauthmon: counters:\n") == 1 and "packets.total" in st,
            "SIGUSR1 during -r: the counters on stderr, once", f"{err[:300]!r}")


def test_progress(e, c):
    pk = cli.wrong_password_packets(users=5, attempts=4)
    pk += [cli.junk_packet(cli.T0 + 10 + i * 0.001) for i in range(4000)]
    data = cli.pcap_bytes(sorted(pk, key=lambda x: x[0]))
    path = e.write("prog.pcap", data)
    _, ref, _ = e.run(["-r", path, "-o", "json"])
    fifo = str(e.tmp / "prog.fifo")
    os.mkfifo(fifo)
    master, slave = pty.openpty()
    p = subprocess.Popen([e.exe, "-r", fifo, "-o", "json"], stdout=subprocess.PIPE,
                         stderr=slave, env=e.env)
    os.close(slave)
    fd = open_fifo_writer(fifo, p)
    shown, pos, chunk = b"", 24, 1500
    deadline = time.monotonic() + WAIT_S
    os.write(fd, data[:pos])
    # Feed the FIFO a piece at a time until the line is drawn (redraws are
    # at most 4 a second, so it comes after a quarter of a second of input).
    while b"packets/s" not in shown and pos < len(data) and time.monotonic() < deadline:
        os.write(fd, data[pos:pos + chunk])
        pos += chunk
        if select.select([master], [], [], 0.1)[0]:
            shown += os.read(master, 4096)
    os.write(fd, data[pos:])
    os.close(fd)
    out = p.stdout.read()
    p.wait(timeout=WAIT_S)
    while select.select([master], [], [], 0.2)[0]:
        try:
            more = os.read(master, 4096)
        except OSError:
            break
        if not more:
            break
        shown += more
    os.close(master)
    text = shown.decode(errors="replace")
    c.check(re.search(r"\r\d+ packets, \d+ packets/s, \d+ diagnoses\x1b\[K", text) is not None,
            "progress on a terminal's stderr: packets, packets/s, diagnoses (size unknown)",
            f"{text[:300]!r}")
    c.check(text.endswith("\r\x1b[K") and "\n" not in text,
            "progress: erased at the end, never a new line", f"{text[-80:]!r}")
    c.check(out.decode(errors="replace") == ref and b"\r" not in out,
            "progress: stdout is the undisturbed output", f"{out[:200]!r}")
    rc, out2, err = e.run(["-r", path, "-o", "json"])
    c.check("\r" not in err and err == "", "progress: off when stderr is not a terminal",
            f"{err!r}")
    master, slave = pty.openpty()
    p = subprocess.run([e.exe, "-q", "-r", "-", "-o", "json"], input=data,
                       stdout=subprocess.PIPE, stderr=slave, env=e.env, timeout=WAIT_S)
    os.close(slave)
    quiet = b""
    while select.select([master], [], [], 0.1)[0]:
        try:
            more = os.read(master, 4096)
        except OSError:
            break
        if not more:
            break
        quiet += more
    os.close(master)
    c.check(quiet == b"", "progress: off with -q", f"{quiet[:100]!r}")


def test_progress_shared_terminal(e, c):
    """Records and the progress line on one terminal: the line is erased
    before each record, so that a record never starts after it."""
    pk = [cli.junk_packet(cli.T0 + i * 0.001) for i in range(4000)]
    pk += cli.exchange("dave", "198.51.100.13", cli.T0 + 10, 4, False)
    data = cli.pcap_bytes(pk)
    fifo = str(e.tmp / "shared.fifo")
    os.mkfifo(fifo)
    master, slave = pty.openpty()
    p = subprocess.Popen([e.exe, "-r", fifo, "-o", "json"], stdout=slave, stderr=slave,
                         env=e.env)
    os.close(slave)
    fd = open_fifo_writer(fifo, p)
    shown, pos, chunk = b"", 24, 1500
    deadline = time.monotonic() + WAIT_S
    end_of_junk = len(cli.pcap_bytes(pk[:4000]))
    os.write(fd, data[:pos])
    while b"packets/s" not in shown and pos < end_of_junk and time.monotonic() < deadline:
        os.write(fd, data[pos:min(pos + chunk, end_of_junk)])
        pos = min(pos + chunk, end_of_junk)
        if select.select([master], [], [], 0.1)[0]:
            shown += os.read(master, 4096)
    drawn_first = b"packets/s" in shown
    os.write(fd, data[pos:])  # the record comes while the line is shown
    os.close(fd)
    p.wait(timeout=WAIT_S)
    while select.select([master], [], [], 0.2)[0]:
        try:
            more = os.read(master, 4096)
        except OSError:
            break
        if not more:
            break
        shown += more
    os.close(master)
    text = shown.decode(errors="replace")
    starts = [m.start() for m in re.finditer(r'\{"diagnosis"', text)]
    clean = all(i == 0 or text[:i].endswith(("\n", "\r\x1b[K")) for i in starts)
    c.check(drawn_first and len(starts) == 1 and clean,
            "progress and records on one terminal: the line erased before the record",
            f"drawn={drawn_first} records={len(starts)} {text[-400:]!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipauthmon", required=True)
    args = ap.parse_args()
    exe = os.path.abspath(args.sipauthmon)
    if not os.access(exe, os.X_OK):
        print(f"{exe}: not executable")
        return 77
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="sipauthmon-inputs-") as tmp:
        e = Env(exe, tmp)
        for t in (test_several, test_rotated, test_many, test_overlap, test_compressed, test_messages,
                  test_usr1, test_progress, test_progress_shared_terminal):
            try:
                t(e, c)
            except Exception as ex:  # a crash of the test itself is a failure too
                c.check(False, t.__name__, f"{type(ex).__name__}: {ex}")
    print(f"{c.passed} passed, {c.failed} failed")
    if c.failed:
        return 1
    return 0 if c.passed else 77


if __name__ == "__main__":
    sys.exit(main())
