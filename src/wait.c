/*-------------------------------------------------------------------------
 *
 * wait.c
 *	  wait_for_events: sleep until the gap-free $all horizon passes a
 *	  position, and the wake-up that appenders give the sleepers.
 *
 * No shared memory (nothing needs shared_preload_libraries).  A waiter holds
 * a shared advisory lock on one tag per database for as long as it waits;
 * the lock table is what lets appenders find it.  Every transaction that drew
 * positions, once it has committed or aborted and released its locks, looks
 * up the holders of that tag (GetLockConflicts) and sets their latches.
 * Appenders never wait on the tag, and the lookup takes the lock partition
 * in shared mode only.
 *
 * No wake-up is lost: a waiter takes the tag *before* it computes the
 * horizon, and an appender looks the tag up *after* its commit is visible
 * and its bucket locks are gone.  Either the appender finds the waiter, or
 * the waiter's horizon already shows the appender's end.  A waiter also
 * looks again every ES_WAIT_RECHECK_MS, which covers what ends without the
 * release hook (a backend that died, COMMIT PREPARED).
 *
 * The waiter holds no snapshot while it sleeps: each look takes a fresh one
 * and lets it go.  It sleeps on its latch, so statement_timeout,
 * pg_cancel_backend and postmaster death end the wait at once.  Nothing
 * outlives the statement (no LISTEN), so it works through a pooler in
 * transaction mode.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/wait.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/sinvaladt.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "event_store.h"
#include "events.h"

/* How often a waiter looks again without being woken (a safety net) */
#define ES_WAIT_RECHECK_MS			1000

/*
 * Buckets a waiter probes above after_position before it settles for what
 * lies below them: the horizon is then past after_position anyway.
 */
#define ES_WAIT_MAX_BUCKETS			64

static bool wake_hook_registered = false;
static bool wake_pending = false;

static void waiters_tag(LOCKTAG *tag);
static void wake_at_release(ResourceReleasePhase phase, bool isCommit,
							bool isTopLevel, void *arg);
static void wake_waiters(void);
static int64 es_horizon(int64 after);
static int64 last_visible_below(Relation heap, Relation pkey, Snapshot snapshot,
								TupleTableSlot *slot, int64 limit);

PG_FUNCTION_INFO_V1(es_wait_for_events);

static void
waiters_tag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0, 0, ES_LOCKTAG_WAITERS);
}

/*
 * Appender side: called once positions are drawn.  At the end of the
 * transaction (commit or abort: an abort turns drawn positions into holes
 * that the horizon may now pass), wake every waiter of this database.
 */
void
es_wake_waiters_at_end(void)
{
	if (!wake_hook_registered)
	{
		RegisterResourceReleaseCallback(wake_at_release, NULL);
		wake_hook_registered = true;
	}
	wake_pending = true;
}

/*
 * After the top-level transaction's locks are released (so a waiter that
 * wakes sees the commit and finds our buckets free).
 */
static void
wake_at_release(ResourceReleasePhase phase, bool isCommit, bool isTopLevel, void *arg)
{
	if (phase != RESOURCE_RELEASE_AFTER_LOCKS || !isTopLevel || !wake_pending)
		return;
	wake_pending = false;
	wake_waiters();
}

static void
wake_waiters(void)
{
	LOCKTAG		tag;
	VirtualTransactionId *vxids;

	waiters_tag(&tag);
	vxids = GetLockConflicts(&tag, ExclusiveLock, NULL);
	for (; VirtualTransactionIdIsValid(*vxids); vxids++)
	{
#if PG_VERSION_NUM >= 170000
		PGPROC	   *proc = ProcNumberGetProc(vxids->procNumber);
#else
		PGPROC	   *proc = BackendIdGetProc(vxids->backendId);
#endif

		/* a slot reused meanwhile only gets a spurious wake-up */
		if (proc != NULL)
			SetLatch(&proc->procLatch);
	}
}

/*
 * The gap-free horizon as far as it matters to a waiter on 'after': the
 * position of the last event below which every position is settled, if that
 * is past 'after'; otherwise 'after' itself.
 *
 * Buckets are probed before the snapshot is taken: in a bucket found free,
 * every position drawn up to then (up to 'last') belongs to a transaction
 * that has ended, so the snapshot shows its final state.  In the first busy
 * bucket, the positions before the first one missing from the snapshot are
 * committed events; the rest may still be in flight.
 */
static int64
es_horizon(int64 after)
{
	const EsCatalog *cat = es_catalog();
	int64		lo = Max(after, 0) + 1;
	int64		last;
	int64		limit;			/* positions below it are settled */
	int64		busy = -1;
	int64		bucket;
	Snapshot	snapshot;
	Relation	heap;
	Relation	pkey;
	TupleTableSlot *slot;
	int64		horizon = 0;

	heap = table_open(cat->events, AccessShareLock);
	pkey = index_open(cat->events_pkey, AccessShareLock);
	slot = table_slot_create(heap, NULL);

	last = es_last_inserted_position(heap, pkey, slot);
	limit = last + 1;
	for (bucket = ES_BUCKET_OF(lo); bucket <= ES_BUCKET_OF(last); bucket++)
	{
		if (bucket - ES_BUCKET_OF(lo) >= ES_WAIT_MAX_BUCKETS)
		{
			limit = ES_BUCKET_FIRST(bucket);
			break;
		}
		if (es_bucket_is_busy(bucket))
		{
			busy = bucket;
			break;
		}
	}

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	if (busy >= 0)
		limit = es_first_missing(heap, pkey, snapshot, slot,
								 Max(lo, ES_BUCKET_FIRST(busy)),
								 Min(last, ES_BUCKET_LAST(busy)));
	if (limit > lo)
		horizon = last_visible_below(heap, pkey, snapshot, slot, limit);

	ExecDropSingleTupleTableSlot(slot);
	index_close(pkey, AccessShareLock);
	table_close(heap, AccessShareLock);
	UnregisterSnapshot(snapshot);

	return Max(horizon, after);
}

/* The highest position below 'limit' the snapshot shows an event at, or 0 */
static int64
last_visible_below(Relation heap, Relation pkey, Snapshot snapshot,
				   TupleTableSlot *slot, int64 limit)
{
	IndexScanDesc scan;
	ScanKeyData key;
	int64		result = 0;

	ScanKeyInit(&key, 1, BTLessStrategyNumber, F_INT8LT, Int64GetDatum(limit));
	scan = index_beginscan(heap, pkey, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull;

		result = DatumGetInt64(slot_getattr(slot, Anum_events_global_position, &isnull));
	}
	index_endscan(scan);
	return result;
}

/*
 * wait_for_events(after_position bigint, timeout interval) -> bigint
 */
Datum
es_wait_for_events(PG_FUNCTION_ARGS)
{
	int64		after;
	Interval   *timeout;
	int64		timeout_us;
	TimestampTz deadline;
	LOCKTAG		tag;
	int64		horizon;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("after_position for $all must not be NULL")));
	after = PG_GETARG_INT64(0);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("timeout for waiting on $all must not be NULL"),
				 errhint("Pass '0' to look once without waiting.")));
	timeout = PG_GETARG_INTERVAL_P(1);
	timeout_us = timeout->time +
		((int64) timeout->day + (int64) timeout->month * DAYS_PER_MONTH) * USECS_PER_DAY;
	if (timeout_us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("timeout for waiting on $all must not be negative")));
	/* a year is as good as forever here, and keeps the arithmetic small */
	timeout_us = Min(timeout_us, (int64) 366 * USECS_PER_DAY);

	if (pg_class_aclcheck(es_catalog()->events, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "events");

	/* Be findable before the first look (see the top of the file). */
	waiters_tag(&tag);
	(void) LockAcquire(&tag, ShareLock, false, false);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_us / 1000);
	for (;;)
	{
		long		wait_ms;

		horizon = es_horizon(after);
		if (horizon > after)
			break;
		wait_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (wait_ms <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(wait_ms, ES_WAIT_RECHECK_MS), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	LockRelease(&tag, ShareLock, false);
	es_wait_durable();
	PG_RETURN_INT64(horizon);
}
