#!/usr/bin/env python3
"""Notify latency (bench/run.sh, scenario n): from an append's commit to its
notification at a LISTENing client.

    notify_latency.py <probes> <interval_ms> <notify>

Connects with libpq's environment (PGHOST, PGPORT, PGUSER, PGDATABASE).  One
session LISTENs on event_store; another appends one event to a stream of its
own ('probe-<pid>-<k>', a fresh stream each time, so the notifier cannot
coalesce two probes) every interval_ms, with event_store.notify = <notify>,
autocommit.  For each probe it notes when the append's reply arrived (the
commit is then durable and visible) and when the listener got the payload
naming that stream.  Prints one line:

    <median ms> <p99 ms> <max ms> <probes received> <probes sent>

measured from the reply; a notification that arrives before the reply
(the notifier can be that quick) counts as 0.  Other traffic on the
channel (the load of the scenario) is ignored.
"""

import json
import os
import select
import sys
import time

import psycopg2


def main():
    probes, interval_ms, notify = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    listener = psycopg2.connect("")
    listener.autocommit = True
    listener.cursor().execute("LISTEN event_store")
    appender = psycopg2.connect("")
    appender.autocommit = True
    cur = appender.cursor()
    cur.execute("SET event_store.notify = %s", (notify,))
    prefix = "probe-%d-" % os.getpid()

    replied = {}
    received = {}

    def drain(timeout):
        if select.select([listener], [], [], timeout)[0]:
            listener.poll()
            now = time.perf_counter()
            for n in listener.notifies:
                stream = json.loads(n.payload)["stream"]
                if stream.startswith(prefix) and stream not in received:
                    received[stream] = now
            listener.notifies.clear()

    for k in range(probes):
        stream = prefix + str(k)
        cur.execute("SELECT event_store.append_to_stream(%s, -1,"
                    " ARRAY[event_store.event('Probe', '{}')])", (stream,))
        replied[stream] = time.perf_counter()
        deadline = replied[stream] + interval_ms / 1000.0
        while time.perf_counter() < deadline:
            drain(max(0.0, deadline - time.perf_counter()))
    deadline = time.perf_counter() + 2.0
    while len(received) < probes and time.perf_counter() < deadline:
        drain(0.05)

    lat = sorted(max(0.0, (received[s] - replied[s]) * 1000.0) for s in received)
    if not lat:
        print("- - - 0 %d" % probes)
        return
    median = lat[len(lat) // 2] if len(lat) % 2 else (lat[len(lat) // 2 - 1] + lat[len(lat) // 2]) / 2
    p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
    print("%.2f %.2f %.2f %d %d" % (median, p99, lat[-1], len(lat), probes))


if __name__ == "__main__":
    main()
