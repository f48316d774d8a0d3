/*-------------------------------------------------------------------------
 *
 * stream.c
 *	  A stream's lifecycle: its lock, its state, the expected-version rule,
 *	  soft and hard deletion, and its retention limits (metadata).
 *
 * A stream that was soft-deleted keeps its row with deleted_version set to
 * its last version: it looks like a stream that does not exist until the
 * next append re-creates it, with versions continuing after the mark.  A
 * hard delete removes its events and sets tombstoned_at: every later
 * operation on the name is ES002.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/stream.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "event_store.h"
#include "events.h"

/* beyond this, now() - max_age could leave the timestamp range */
#define ES_MAX_AGE_YEARS 1000

static SPIPlanPtr soft_delete_plan = NULL;
static SPIPlanPtr hard_delete_events_plan = NULL;
static SPIPlanPtr tombstone_plan = NULL;
static SPIPlanPtr metadata_plan = NULL;

PG_FUNCTION_INFO_V1(es_delete_stream);
PG_FUNCTION_INFO_V1(es_set_stream_metadata);

/*
 * Probe 'index' of 'rel' for the first entry whose leading column equals
 * 'name' (and, when 'floor' > 0, whose second column is at least 'floor'),
 * in 'direction', and return the slot holding its tuple (NULL if none).
 * The slot stays valid until the caller drops it.
 */
static TupleTableSlot *
probe_by_name(Relation rel, Relation index, Datum name, int64 floor, Snapshot snapshot,
			  ScanDirection direction)
{
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData key[2];
	int			nkeys = 1;
	bool		found;

	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_TEXTEQ, name);
	key[0].sk_collation = index->rd_indcollation[0];
	if (floor > 0)
		ScanKeyInit(&key[nkeys++], 2, BTGreaterEqualStrategyNumber, F_INT8GE,
					Int64GetDatum(floor));
	scan = index_beginscan(rel, index, snapshot, nkeys, 0);
	index_rescan(scan, key, nkeys, NULL, 0);
	found = index_getnext_slot(scan, direction, slot);
	index_endscan(scan);
	if (found)
		return slot;
	ExecDropSingleTupleTableSlot(slot);
	return NULL;
}

/*
 * What this backend last learnt of each stream, in a direct-mapped table by
 * name hash: where its row was, and a version it had reached.  Hints, never
 * trusted, that spare an append most of its two index probes (perf put
 * them at half of an append's own time; docs/benchmarks.md, (a)):
 *
 *	 - The row's TID saves the descent of streams_stream_name_key.  The tuple
 *	   there counts only when the probe's snapshot sees it and it carries the
 *	   name, and then it is the stream's row (names are unique).  An update
 *	   moves the row, vacuum may give the slot to another row, truncation may
 *	   remove the page: each is a miss, and the index probe that follows
 *	   refreshes the hint.
 *	 - The version bounds the probe for the last event from below.  Probing
 *	   backwards for "stream_name = $1", nbtree reads every entry of the
 *	   stream on the leaf page before returning the last one (a page's worth
 *	   for a long stream); with "stream_version >= hint" it reads the few
 *	   above the hint.  Versions only grow, so the bounded probe finds the
 *	   last event whenever the hint is not past it; when it finds nothing
 *	   (a hint from a rolled-back append, a hash collision, a deleted
 *	   stream) the unbounded probe runs.
 *
 * ES_ROW_HINTS entries of 24 bytes, 192 kB for a backend that appends, in
 * sets of two kept in recently-used order: a backend appending at random to
 * 10,000 streams finds about three in four of them (direct-mapped: 58 %).
 */
#define ES_ROW_HINTS	8192	/* a power of 2 */

typedef struct RowHint
{
	uint32		hash;
	ItemPointerData tid;		/* invalid: none */
	int64		version;		/* 0: none */
} RowHint;

static RowHint *row_hints = NULL;

static RowHint *
row_hint(Datum name)
{
	text	   *t = DatumGetTextPP(name);
	uint32		hash = hash_bytes((const unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	RowHint    *hint;

	if (row_hints == NULL)
		row_hints = MemoryContextAllocZero(TopMemoryContext, sizeof(RowHint) * ES_ROW_HINTS);
	hint = &row_hints[(hash & (ES_ROW_HINTS / 2 - 1)) * 2];
	if (hint[0].hash != hash)
	{
		/* the set's other entry, or a new one: either way, to the front */
		RowHint		found = hint[1];

		hint[1] = hint[0];
		if (found.hash == hash)
			hint[0] = found;
		else
		{
			hint[0].hash = hash;
			ItemPointerSetInvalid(&hint[0].tid);
			hint[0].version = 0;
		}
	}
	return &hint[0];
}

/*
 * An append moved the stream to 'version' (in this transaction: if it rolls
 * back, the hint is past the last event and the next probe runs unbounded).
 */
void
es_stream_version_hint(Datum name, int64 version)
{
	row_hint(name)->version = version;
}

/*
 * The streams row for 'name' that 'snapshot' sees, in a new slot (NULL when
 * none): by its hint, else through the name index.
 */
static TupleTableSlot *
streams_row(Relation rel, Datum name, Snapshot snapshot, RowHint *hint)
{
	text	   *t = DatumGetTextPP(name);
	TupleTableSlot *slot;
	Relation	index;

	if (ItemPointerIsValid(&hint->tid) &&
		ItemPointerGetBlockNumber(&hint->tid) < RelationGetNumberOfBlocks(rel))
	{
		slot = table_slot_create(rel, NULL);
		if (table_tuple_fetch_row_version(rel, &hint->tid, snapshot, slot))
		{
			bool		isnull;
			text	   *row_name = DatumGetTextPP(slot_getattr(slot, Anum_streams_stream_name,
															   &isnull));

			if (VARSIZE_ANY_EXHDR(row_name) == VARSIZE_ANY_EXHDR(t) &&
				memcmp(VARDATA_ANY(row_name), VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) == 0)
				return slot;
		}
		ExecDropSingleTupleTableSlot(slot);
	}

	index = index_open(es_catalog()->streams_name_idx, AccessShareLock);
	slot = probe_by_name(rel, index, name, 0, snapshot, ForwardScanDirection);
	index_close(index, AccessShareLock);
	if (slot)
		hint->tid = slot->tts_tid;
	else
		ItemPointerSetInvalid(&hint->tid);
	return slot;
}

/*
 * The stream's state as 'snapshot' sees it: two index probes, one for its
 * row in streams, one for its last event.  Its version is the greater of the
 * row's stream_version (written when the row is: at creation, deletion and
 * scavenging) and the version of its last stored event, so appends need not
 * update the row.  The second probe is skipped unless the caller needs the
 * version or the stream's max_count does (it counts back from it).  Direct
 * index access skips the executor's permission checks, so they are made
 * here.
 */
EsStreamState
es_stream_state(Datum name, Snapshot snapshot, bool need_version)
{
	const EsCatalog *cat = es_catalog();
	EsStreamState state = {0};
	RowHint    *hint = row_hint(name);
	Relation	rel;
	Relation	index;
	TupleTableSlot *slot;
	bool		isnull;
	Datum		d;

	if (pg_class_aclcheck(cat->streams, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "streams");
	if (pg_class_aclcheck(cat->events, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "events");

	rel = table_open(cat->streams, AccessShareLock);
	slot = streams_row(rel, name, snapshot, hint);
	if (slot)
	{
		state.has_row = true;
		state.version = DatumGetInt64(slot_getattr(slot, Anum_streams_stream_version, &isnull));
		d = slot_getattr(slot, Anum_streams_deleted_version, &isnull);
		state.deleted_version = isnull ? 0 : DatumGetInt64(d);
		(void) slot_getattr(slot, Anum_streams_tombstoned_at, &isnull);
		state.tombstoned = !isnull;
		d = slot_getattr(slot, Anum_streams_max_count, &isnull);
		state.max_count = isnull ? 0 : DatumGetInt64(d);
		d = slot_getattr(slot, Anum_streams_truncate_before, &isnull);
		state.truncate_before = isnull ? 0 : DatumGetInt64(d);
		d = slot_getattr(slot, Anum_streams_max_age, &isnull);
		if (!isnull)
		{
			state.max_age = palloc(sizeof(Interval));
			memcpy(state.max_age, DatumGetIntervalP(d), sizeof(Interval));
		}
		ExecDropSingleTupleTableSlot(slot);
	}
	table_close(rel, AccessShareLock);

	if (!state.has_row || (!need_version && state.max_count == 0))
		return state;			/* no row, no events; or not needed */

	rel = table_open(cat->events, AccessShareLock);
	index = index_open(cat->events_stream_version_idx, AccessShareLock);
	slot = NULL;
	if (hint->version > 0)
		slot = probe_by_name(rel, index, name, hint->version, snapshot, BackwardScanDirection);
	if (slot == NULL)
		slot = probe_by_name(rel, index, name, 0, snapshot, BackwardScanDirection);
	if (slot)
	{
		int64		last = DatumGetInt64(slot_getattr(slot, Anum_events_stream_version, &isnull));

		state.version = Max(state.version, last);
		hint->version = last;
		ExecDropSingleTupleTableSlot(slot);
	}
	else
		hint->version = 0;
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);

	return state;
}

/*
 * Take the stream's lock for the rest of the transaction and read its state.
 * Must be called inside an SPI connection.
 *
 * The lock is a transaction-level advisory lock on a 64-bit hash of the
 * name in event_store's own key space (a collision only makes two streams
 * wait for each other).  Under it, the latest snapshot shows every earlier
 * append to the stream.  A transaction-snapshot transaction must not write on
 * facts its snapshot cannot see: that is a serialization failure, as for a
 * concurrent UPDATE.  A hard-deleted stream is ES002.
 */
EsStreamState
es_lock_stream(const char *stream, Datum name)
{
	text	   *t = DatumGetTextPP(name);
	uint64		h = hash_bytes_extended((const unsigned char *) VARDATA_ANY(t),
										VARSIZE_ANY_EXHDR(t), 0);
	LOCKTAG		tag;
	EsStreamState state;
	Snapshot	snapshot;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h,
						 ES_LOCKTAG_STREAM);
	es_acquire_stream_lock(&tag);

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	state = es_stream_state(name, snapshot, true);
	UnregisterSnapshot(snapshot);
	if (IsolationUsesXactSnapshot())
	{
		EsStreamState seen = es_stream_state(name, GetTransactionSnapshot(), true);

		if (seen.has_row != state.has_row || seen.version != state.version ||
			seen.deleted_version != state.deleted_version ||
			seen.tombstoned != state.tombstoned)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent change of stream \"%s\"",
							stream)));
	}

	if (state.tombstoned)
		es_report_tombstone(stream);
	return state;
}

void
es_report_tombstone(const char *stream)
{
	es_wait_durable();			/* the deletion may still be flushing */
	ereport(ERROR,
			(errcode(ERRCODE_ES_STREAM_DELETED),
			 errmsg("stream \"%s\" is deleted", stream),
			 errdetail("The stream was hard-deleted; its name cannot be used again.")));
}

/*
 * The stream-visibility rule: which events of a stream its readers see.
 * Versions from view->min_version on (after the soft-delete mark, from
 * truncate_before, the last max_count) that were created at or after
 * view->not_before (max_age, counted back from the start of the
 * transaction, as now() is).  Stream reads show exactly these; scavenge()
 * removes exactly the others.  With max_count set, 'state' must carry the
 * current version (es_stream_state reads it then).
 */
void
es_stream_view(const EsStreamState *state, EsStreamView *view)
{
	view->version = ES_STREAM_EXISTS(state) ? state->version : 0;
	view->min_version = Max(state->deleted_version + 1, state->truncate_before);
	if (state->max_count > 0)
		view->min_version = Max(view->min_version, state->version - state->max_count + 1);
	view->not_before = DT_NOBEGIN;
	if (state->max_age)
		view->not_before = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
																   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
																   IntervalPGetDatum(state->max_age)));
}

/*
 * The expected-version rule of SPEC, shared by appends and deletes.  A
 * soft-deleted stream (not appended to since) counts as one that does not
 * exist, at version 0.
 */
void
es_check_expected_version(const char *stream, int64 expected, EsStreamState *state)
{
	bool		exists = ES_STREAM_EXISTS(state);
	int64		current = exists ? state->version : 0;
	char	   *detail;

	if (expected == 0 && exists)
		detail = psprintf("Expected no stream, but the stream is at version %lld.",
						  (long long) current);
	else if (expected == -2 && !exists)
		detail = pstrdup("Expected an existing stream, but the stream does not exist.");
	else if (expected > 0 && expected != current)
		detail = psprintf("Expected version %lld, but the stream is at version %lld.",
						  (long long) expected, (long long) current);
	else
		return;

	es_wait_durable();			/* the version it names may still be flushing */
	ereport(ERROR,
			(errcode(ERRCODE_ES_WRONG_VERSION),
			 errmsg("wrong expected version for stream \"%s\"", stream),
			 errdetail("%s", detail)));
}

/*
 * delete_stream(stream_name text, expected_version bigint, hard boolean)
 */
Datum
es_delete_stream(PG_FUNCTION_ARGS)
{
	char	   *stream = es_stream_name_arg(fcinfo, 0);
	Datum		name = CStringGetTextDatum(stream);
	int64		expected;
	bool		hard;
	EsStreamState state;

	expected = es_expected_version_arg(fcinfo, 1, stream, "delete");
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("hard for stream \"%s\" must not be NULL", stream)));
	hard = PG_GETARG_BOOL(2);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	state = es_lock_stream(stream, name);
	es_check_expected_version(stream, expected, &state);

	if (hard)
	{
		/* The events go at once; the row stays as the tombstone. */
		es_prepare(&hard_delete_events_plan,
				   "DELETE FROM event_store.events WHERE stream_name OPERATOR(pg_catalog.=) $1",
				   1, (Oid[]) {TEXTOID});
		if (SPI_execute_plan(hard_delete_events_plan, &name, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete the events of stream \"%s\"", stream);

		es_prepare(&tombstone_plan,
				   "INSERT INTO event_store.streams AS s (stream_name, category, stream_version,"
				   "       deleted_version, tombstoned_at)"
				   " VALUES ($1, $2, $3, $3, pg_catalog.now())"
				   " ON CONFLICT (stream_name) DO UPDATE"
				   "   SET stream_version = excluded.stream_version,"
				   "       deleted_version = excluded.deleted_version,"
				   "       tombstoned_at = excluded.tombstoned_at",
				   3, (Oid[]) {TEXTOID, TEXTOID, INT8OID});
		if (SPI_execute_plan(tombstone_plan,
							 (Datum[]) {name, CStringGetTextDatum(es_category_of(stream, strlen(stream))),
							 Int64GetDatum(state.version)},
							 NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not tombstone stream \"%s\"", stream);
	}
	else if (ES_STREAM_EXISTS(&state))
	{
		/* A deletion mark at the last version; scavenge() removes the events. */
		es_prepare(&soft_delete_plan,
				   "UPDATE event_store.streams SET stream_version = $2, deleted_version = $2"
				   " WHERE stream_name OPERATOR(pg_catalog.=) $1",
				   2, (Oid[]) {TEXTOID, INT8OID});
		if (SPI_execute_plan(soft_delete_plan, (Datum[]) {name, Int64GetDatum(state.version)},
							 NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not delete stream \"%s\"", stream);
	}

	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * set_stream_metadata(stream_name text, max_count bigint, max_age interval,
 *					   truncate_before bigint)
 *
 * Replaces the stream's limits (NULL: no limit).  Stream reads apply them at
 * once; scavenge() removes what they exclude.  A stream that does not exist
 * yet gets a row holding its limits.
 */
Datum
es_set_stream_metadata(PG_FUNCTION_ARGS)
{
	char	   *stream = es_stream_name_arg(fcinfo, 0);
	Datum		name = CStringGetTextDatum(stream);
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int			i;

	if (!PG_ARGISNULL(1) && PG_GETARG_INT64(1) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("invalid max_count for stream \"%s\"", stream),
				 errdetail("max_count must be at least 1, or NULL for no limit, but is %lld.",
						   (long long) PG_GETARG_INT64(1))));
	if (!PG_ARGISNULL(2))
	{
		Interval   *age = PG_GETARG_INTERVAL_P(2);
		Interval	zero = {0};

		Interval	limit = {0, 0, ES_MAX_AGE_YEARS * MONTHS_PER_YEAR};

		if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(age),
											  IntervalPGetDatum(&zero))) <= 0 ||
			DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(age),
											  IntervalPGetDatum(&limit))) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_ES_INVALID_ARGUMENT),
					 errmsg("invalid max_age for stream \"%s\"", stream),
					 errdetail("max_age must be a positive interval of at most %d years, or NULL for no limit.",
							   ES_MAX_AGE_YEARS)));
	}
	if (!PG_ARGISNULL(3) && PG_GETARG_INT64(3) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("invalid truncate_before for stream \"%s\"", stream),
				 errdetail("truncate_before must be at least 1, or NULL for no limit, but is %lld.",
						   (long long) PG_GETARG_INT64(3))));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	(void) es_lock_stream(stream, name);

	values[0] = name;
	values[1] = CStringGetTextDatum(es_category_of(stream, strlen(stream)));
	for (i = 1; i <= 3; i++)
	{
		values[i + 1] = PG_GETARG_DATUM(i);
		nulls[i + 1] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	es_prepare(&metadata_plan,
			   "INSERT INTO event_store.streams AS s (stream_name, category,"
			   "       max_count, max_age, truncate_before)"
			   " VALUES ($1, $2, $3, $4, $5)"
			   " ON CONFLICT (stream_name) DO UPDATE"
			   "   SET max_count = excluded.max_count, max_age = excluded.max_age,"
			   "       truncate_before = excluded.truncate_before",
			   5, (Oid[]) {TEXTOID, TEXTOID, INT8OID, INTERVALOID, INT8OID});
	if (SPI_execute_plan(metadata_plan, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not set the metadata of stream \"%s\"", stream);

	SPI_finish();
	PG_RETURN_VOID();
}
