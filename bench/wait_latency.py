#!/usr/bin/python3
"""bench/wait_latency.py: how soon wait_for_events returns after the commit
that moves the $all horizon (run by bench/filters.sh, part w).

One waiter loops on wait_for_events(pos); one appender appends one event at a
time, each a random 2-10 ms after the waiter has taken the previous wake, so
the waiter is asleep when the commit comes.  A wake's latency is the server's
clock when wait_for_events returned minus the commit timestamp of the event
at the returned horizon (track_commit_timestamp = on; both clocks are the
server's).  Prints the median, p90, p99 and max in milliseconds.

    wait_latency.py <libpq conninfo> [wakes]
"""
import random
import statistics
import sys
import threading
import time

import psycopg2

conninfo = sys.argv[1]
wakes = int(sys.argv[2]) if len(sys.argv) > 2 else 1000

waiter = psycopg2.connect(conninfo)
waiter.autocommit = True
appender = psycopg2.connect(conninfo)
appender.autocommit = True

wc = waiter.cursor()
ac = appender.cursor()
ac.execute("SET event_store.notify = off")
ac.execute("SET synchronous_commit = off")

# start at the end of the log (a first wait from 0 would step through it
# 64 buckets at a time, each step "waking" on events committed long ago)
wc.execute("SELECT coalesce(max(global_position), 0) FROM event_store.events")
pos = wc.fetchone()[0]

taken = threading.Event()
stop = False


def append_loop():
    n = 0
    while not stop:
        if not taken.wait(timeout=1):
            continue
        taken.clear()
        time.sleep(random.uniform(0.002, 0.010))
        ac.execute("SELECT event_store.append_to_stream(%s, -1, "
                   "ARRAY[event_store.event('Tick', '{}')])", ("tick-%d" % (n % 100),))
        n += 1


thread = threading.Thread(target=append_loop, daemon=True)
thread.start()

latencies = []
taken.set()
while len(latencies) < wakes:
    wc.execute("SELECT event_store.wait_for_events(%s, '5 seconds'), clock_timestamp()", (pos,))
    horizon, woke = wc.fetchone()
    if horizon <= pos:
        taken.set()
        continue
    wc.execute("SELECT pg_xact_commit_timestamp(xmin) FROM event_store.events"
               " WHERE global_position = %s", (horizon,))
    committed = wc.fetchone()[0]
    latencies.append((woke - committed).total_seconds() * 1000.0)
    pos = horizon
    taken.set()

stop = True
latencies.sort()


def pct(p):
    return latencies[min(len(latencies) - 1, int(round(p / 100.0 * len(latencies))) - 1)]


print("wakes %d median_ms %.3f p90_ms %.3f p99_ms %.3f max_ms %.3f"
      % (len(latencies), statistics.median(latencies), pct(90), pct(99), latencies[-1]))
