#!/usr/bin/env python3
"""CPU used by groups of processes over a period, from /proc (utime + stime).

    bench/cpu.py DELAY SECONDS NAME=PREFIX [NAME=PREFIX ...]

Waits DELAY seconds, then prints, for each NAME, the cores its processes used over the next
SECONDS: the sum over every process whose command name (/proc/PID/stat, 15 characters at
most) starts with PREFIX, e.g. `postgres=postgres server=pulse-server generator=pulse-bench`.
A process that starts or ends inside the period is counted for the part it was seen.
Output: one line of `NAME CORES` pairs, then `seconds S`.
"""
import os
import sys
import time


def snapshot(groups):
    used = {name: 0 for name in groups}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may itself contain spaces.
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])
        for name, prefix in groups.items():
            if comm.startswith(prefix):
                used[name] += ticks
    return used


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    delay, seconds = float(sys.argv[1]), float(sys.argv[2])
    groups = dict(arg.split("=", 1) for arg in sys.argv[3:])
    tick = os.sysconf("SC_CLK_TCK")
    time.sleep(delay)
    before, started = snapshot(groups), time.monotonic()
    time.sleep(seconds)
    after, elapsed = snapshot(groups), time.monotonic() - started
    cores = " ".join(f"{name} {(after[name] - before[name]) / tick / elapsed:.3f}" for name in groups)
    print(f"{cores} seconds {elapsed:.1f}")


if __name__ == "__main__":
    main()
