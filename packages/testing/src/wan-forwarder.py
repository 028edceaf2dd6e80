#!/usr/bin/env python3
"""A WAN between two bridges, in user space (this kernel has no sch_netem).

Attaches to two TAP devices (each a port of one bridge) and copies every
Ethernet frame from one to the other after a delay of DELAY ms plus up to
JITTER ms drawn uniformly, dropping LOSS of them at random. Each direction
keeps its order: a frame never overtakes the one before it (so no
reordering), and losses are independent (no bursts). Rate limits are the
kernel's business (tc tbf on the veths). Prints "ready" once both devices
are open; exits on SIGTERM.

usage: wan-forwarder.py TAP_A TAP_B DELAY_MS JITTER_MS LOSS SEED
"""
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def open_tap(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main():
    tap_a, tap_b = sys.argv[1], sys.argv[2]
    delay = float(sys.argv[3]) / 1000
    jitter = float(sys.argv[4]) / 1000
    loss = float(sys.argv[5])
    rng = random.Random(int(sys.argv[6]))
    a, b = open_tap(tap_a), open_tap(tap_b)
    other = {a: b, b: a}
    # per direction: the time the last frame leaves (none overtakes it)
    tail = {a: 0.0, b: 0.0}
    queue = []  # (due, n, out_fd, frame)
    n = 0
    counts = {'forwarded': 0, 'dropped': 0}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print('ready', flush=True)
    while True:
        now = time.monotonic()
        timeout = max(0.0, queue[0][0] - now) if queue else 1.0
        readable, _, _ = select.select([a, b], [], [], timeout)
        now = time.monotonic()
        for fd in readable:
            while True:
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if loss > 0 and rng.random() < loss:
                    counts['dropped'] += 1
                    continue
                due = max(tail[fd], now + delay + rng.random() * jitter)
                tail[fd] = due
                n += 1
                heapq.heappush(queue, (due, n, other[fd], frame))
        while queue and queue[0][0] <= time.monotonic():
            _, _, out, frame = heapq.heappop(queue)
            try:
                os.write(out, frame)
                counts['forwarded'] += 1
            except OSError:
                counts['dropped'] += 1


if __name__ == '__main__':
    main()
