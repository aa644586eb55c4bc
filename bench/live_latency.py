#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rough live latency probe: bench/live_latency.py EXE [PCAP] replays PCAP (default
bench/out/mix-10k.pcap) at --pps 2000 through live.py's namespaces and prints
arrival of each JSON line - its last_seen. Records decided by a timeout (not
at last_seen) show up as ~1 s outliers; run.py's latency part is the real figure."""
import sys, os, time, json, subprocess, threading, signal, datetime
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import live as L
exe = sys.argv[1]
pcap = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "mix-10k.pcap")
L.netns_up()
try:
    p = subprocess.Popen(["ip","netns","exec",L.NS_RX,exe,"-i",L.IF_RX,"-o","json","--max-records-per-minute","0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines=[]
    def rd():
        fd=p.stdout.fileno(); pend=b""
        while True:
            c=os.read(fd,65536); now=time.time()
            if not c: break
            pend+=c; *d,pend=pend.split(b"\n"); lines.extend((now,x) for x in d)
    t=threading.Thread(target=rd); t.start(); time.sleep(1.5)
    L.sh("ip","netns","exec",L.NS_TX,"tcpreplay","-i",L.IF_TX,"--pps=2000",pcap)
    time.sleep(1); p.send_signal(signal.SIGINT); p.wait(); t.join()
finally:
    L.netns_down()
lat=[]
for now,x in lines:
    o=json.loads(x); ls=o.get("last_seen")
    if ls: lat.append((now-datetime.datetime.fromisoformat(ls.replace("Z","+00:00")).timestamp())*1000)
lat.sort(); n=len(lat)
print(exe, n, "records; arrival - last_seen ms: p50 %.1f p90 %.1f p99 %.1f max %.1f" % (lat[n//2], lat[int(n*.9)], lat[int(n*.99)], lat[-1]))
