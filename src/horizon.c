/*-------------------------------------------------------------------------
 *
 * horizon.c
 *	  The no-gap rule: how far a reader of $all or of a category may go.
 *
 * Global positions come from a CACHE 1 sequence while the appending
 * transaction is still open, so a reader can see position p while a lower
 * position h is drawn but not yet committed.  Positions are grouped in
 * buckets of 2^ES_BUCKET_SHIFT.  An appender takes a shared advisory lock on
 * a bucket *before* it draws any position it keeps from that bucket, and
 * holds it until its transaction ends (append.c).  A reader that meets a
 * position h missing from its snapshot, below a position it can see, asks:
 *
 *	 1. Is h's bucket locked?  Then h may still commit: stop before h.
 *	 2. Otherwise every appender that kept a position in that bucket has
 *		ended.  Is there now a live tuple at h that the reader's snapshot does
 *		not show (a commit after the snapshot)?  Then stop before h too; a
 *		READ COMMITTED reader simply looks again with a new snapshot.
 *	 3. Otherwise h is a permanent hole (a rolled-back or abandoned position,
 *		or a scavenged event): pass it.
 *
 * The readers (feed.c) and wait_for_events (wait.c) apply the rule with the
 * probes below; docs/concepts.md gives the argument in full.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/horizon.c
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
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/snapmgr.h"

#include "event_store.h"
#include "events.h"

static void es_bucket_tag(LOCKTAG *tag, int64 bucket);
static int64 first_late_tuple(EsGapCheck *gap, int64 lo, int64 hi);

static void
es_bucket_tag(LOCKTAG *tag, int64 bucket)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId,
						 (uint32) ((uint64) bucket >> 32),
						 (uint32) bucket,
						 ES_LOCKTAG_BUCKET);
}

/*
 * Appender side: hold a bucket until the end of the transaction.  Shared, so
 * appenders never wait for each other here.
 */
void
es_lock_bucket_shared(int64 bucket)
{
	LOCKTAG		tag;

	es_bucket_tag(&tag, bucket);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

/*
 * Reader side: is any transaction holding this bucket?  Tries the exclusive
 * lock without waiting and gives it back at once.  Our own transaction's
 * shared lock (a reader that appended) does not conflict with itself.
 */
bool
es_bucket_is_busy(int64 bucket)
{
	LOCKTAG		tag;

	es_bucket_tag(&tag, bucket);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ExclusiveLock, true);
	return false;
}

/*
 * The last position any backend has drawn (0 if none), read without drawing
 * one.  With CACHE 1 the sequence tuple holds exactly that value.
 */
int64
es_last_drawn_position(Oid seq)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = ObjectIdGetDatum(seq);
	fcinfo->args[0].isnull = false;
	result = pg_sequence_last_value(fcinfo);
	return fcinfo->isnull ? 0 : DatumGetInt64(result);
}

/*
 * The first position in [lo, hi] that has no event in the snapshot, or
 * hi + 1: where a reader stops in a busy bucket.  'slot' is any slot of the
 * events table the caller does not need meanwhile.
 */
int64
es_first_missing(Relation heap, Relation pkey, Snapshot snapshot,
				 TupleTableSlot *slot, int64 lo, int64 hi)
{
	IndexScanDesc scan;
	ScanKeyData key[2];
	int64		expect = lo;

	ScanKeyInit(&key[0], 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(lo));
	ScanKeyInit(&key[1], 1, BTLessEqualStrategyNumber, F_INT8LE, Int64GetDatum(hi));
	scan = index_beginscan(heap, pkey, snapshot, 2, 0);
	index_rescan(scan, key, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;

		if (DatumGetInt64(slot_getattr(slot, Anum_events_global_position, &isnull)) != expect)
			break;
		expect++;
	}
	index_endscan(scan);
	return expect;
}

/*
 * The highest position any transaction has inserted an event at, committed
 * or not (0 if none): where a reader's scans may end.  Unlike the sequence,
 * which readers have no right to read, it needs only the events table.
 * Positions drawn but not inserted yet lie above every event a reader can
 * be shown, or in a bucket still held.
 */
int64
es_last_inserted_position(Relation heap, Relation pkey, TupleTableSlot *slot)
{
	SnapshotData dirty;
	IndexScanDesc scan;
	int64		result = 0;

	InitDirtySnapshot(dirty);
	scan = index_beginscan(heap, pkey, &dirty, 0, 0);
	index_rescan(scan, NULL, 0, NULL, 0);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull;

		result = DatumGetInt64(slot_getattr(slot, Anum_events_global_position, &isnull));
	}
	index_endscan(scan);
	return result;
}

/*
 * Open the relations a gap check scans.  'snapshot' is the snapshot the
 * reader's rows came from; 'category' is NULL for $all.
 */
void
es_gap_check_begin(EsGapCheck *gap, Snapshot snapshot, const char *category)
{
	const EsCatalog *cat = es_catalog();

	gap->snapshot = snapshot;
	gap->category = category;
	gap->heap = table_open(cat->events, AccessShareLock);
	gap->pkey = index_open(cat->events_pkey, AccessShareLock);
	gap->category_idx = category ? index_open(cat->events_category_idx, AccessShareLock) : NULL;
	gap->slot = table_slot_create(gap->heap, NULL);
	gap->free_bucket = -1;
	gap->late = false;
}

void
es_gap_check_end(EsGapCheck *gap)
{
	ExecDropSingleTupleTableSlot(gap->slot);
	if (gap->category_idx)
		index_close(gap->category_idx, AccessShareLock);
	index_close(gap->pkey, AccessShareLock);
	table_close(gap->heap, AccessShareLock);
}

/*
 * The reader's snapshot shows no event of interest at positions [lo, hi],
 * and shows one at hi + 1 (so every position up to hi has been drawn before
 * the snapshot was taken).  Return the first position in [lo, hi] that the
 * reader must stop before, or hi + 1 when it may pass the whole range.
 * Sets gap->late when the stop is due to a commit after the snapshot, which a
 * fresh snapshot would show.
 *
 * For $all every position in the range is missing from the snapshot.  For a
 * category the range may hold other categories' events; only missing
 * positions matter, and only this category's late commits.
 */
int64
es_gap_check(EsGapCheck *gap, int64 lo, int64 hi)
{
	int64		cut = hi + 1;
	int64		bucket;
	int64		late;

	if (lo > hi)
		return cut;

	/* 1. Locked buckets: a position there may still be drawn-but-uncommitted. */
	for (bucket = ES_BUCKET_OF(lo); bucket <= ES_BUCKET_OF(hi); bucket++)
	{
		int64		blo = Max(lo, ES_BUCKET_FIRST(bucket));
		int64		bhi = Min(hi, ES_BUCKET_LAST(bucket));
		int64		missing;

		CHECK_FOR_INTERRUPTS();

		/* a bucket once seen free stays settled for positions we know of */
		if (bucket <= gap->free_bucket)
			continue;
		if (!es_bucket_is_busy(bucket))
		{
			gap->free_bucket = bucket;
			continue;
		}
		missing = gap->category ? es_first_missing(gap->heap, gap->pkey, gap->snapshot, gap->slot, blo, bhi) : blo;
		if (missing <= bhi)
		{
			cut = missing;
			break;
		}
	}

	/* 2. Free buckets: anything committed there since the snapshot? */
	if (cut > lo)
	{
		late = first_late_tuple(gap, lo, cut - 1);
		if (late < cut)
		{
			cut = late;
			gap->late = true;
		}
	}
	return cut;
}

/*
 * The first position in [lo, hi] holding a live event (of the category, if
 * any) that the reader's snapshot does not show, or hi + 1.  Runs only over
 * buckets no transaction holds, so a live tuple there is committed.
 */
static int64
first_late_tuple(EsGapCheck *gap, int64 lo, int64 hi)
{
	SnapshotData dirty;
	IndexScanDesc scan;
	ScanKeyData key[3];
	int			nkeys = 0;
	int64		result = hi + 1;

	InitDirtySnapshot(dirty);
	if (gap->category)
	{
		ScanKeyInit(&key[nkeys++], 1, BTEqualStrategyNumber, F_TEXTEQ,
					CStringGetTextDatum(gap->category));
		ScanKeyInit(&key[nkeys++], 2, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(lo));
		ScanKeyInit(&key[nkeys++], 2, BTLessEqualStrategyNumber, F_INT8LE, Int64GetDatum(hi));
		key[0].sk_collation = gap->category_idx->rd_indcollation[0];
	}
	else
	{
		ScanKeyInit(&key[nkeys++], 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(lo));
		ScanKeyInit(&key[nkeys++], 1, BTLessEqualStrategyNumber, F_INT8LE, Int64GetDatum(hi));
	}

	scan = index_beginscan(gap->heap, gap->category ? gap->category_idx : gap->pkey,
						   &dirty, nkeys, 0);
	index_rescan(scan, key, nkeys, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, gap->slot))
	{
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		/* in a category's range, events the snapshot shows were filtered */
		if (gap->category &&
			table_tuple_satisfies_snapshot(gap->heap, gap->slot, gap->snapshot))
			continue;
		result = DatumGetInt64(slot_getattr(gap->slot, Anum_events_global_position, &isnull));
		break;
	}
	index_endscan(scan);
	return result;
}
