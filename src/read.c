/*-------------------------------------------------------------------------
 *
 * read.c
 *	  The readers: one stream forward and backward, $all, a category (with
 *	  consumer groups), and a stream's version.
 *
 * A stream's events commit in version order (appends to it hold its lock
 * until commit), so any snapshot shows a prefix of it: stream reads are plain
 * queries.  $all and category reads walk global positions, which are drawn
 * before commit; they go only as far as horizon.c allows.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/read.c
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
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "event_store.h"
#include "events.h"

/*
 * How often a READ COMMITTED reader that stopped at a commit newer than its
 * snapshot looks again with a fresh one before returning what it has.
 */
#define ES_MAX_FRESH_SNAPSHOTS		4

typedef enum StreamDirection
{
	STREAM_FORWARD,
	STREAM_BACKWARD
} StreamDirection;

static SPIPlanPtr forward_plan = NULL;
static SPIPlanPtr backward_plan = NULL;

static SPIPlanPtr prepare_stream_read(SPIPlanPtr *cache, const char *order);
static Datum read_stream(FunctionCallInfo fcinfo, StreamDirection direction);
static void read_positions(FunctionCallInfo fcinfo, const char *category,
						   int64 from, int32 max_count, int32 *group);

PG_FUNCTION_INFO_V1(es_read_stream_forward);
PG_FUNCTION_INFO_V1(es_read_stream_backward);
PG_FUNCTION_INFO_V1(es_read_all_forward);
PG_FUNCTION_INFO_V1(es_read_category_forward);
PG_FUNCTION_INFO_V1(es_stream_version);

/*
 * What a stream read may show of a stream, as its readers' snapshot sees
 * it (es_stream_view: the visibility rule).  Returns false when the stream
 * has no row; ES002 when it is hard-deleted.  The current version (an index
 * probe more) is read only when asked for or needed by max_count
 * (es_stream_state knows when).
 */
static bool
stream_view(const char *stream, EsStreamView *view, bool need_version)
{
	Datum		name = CStringGetTextDatum(stream);
	EsStreamState state;

	state = es_stream_state(name, GetActiveSnapshot(), need_version);
	if (!state.exists)
		return false;
	if (state.tombstoned)
		es_report_tombstone(stream);
	es_stream_view(&state, view);
	return true;
}

/*
 * The statement of a stream read, prepared once per backend: events of
 * stream $1 with versions in [$2, $3] created at or after $5, in version
 * order ('order' is "" or " DESC"), at most $4.
 */
static SPIPlanPtr
prepare_stream_read(SPIPlanPtr *cache, const char *order)
{
	if (*cache == NULL)
		es_prepare(cache,
				   psprintf("SELECT %s FROM event_store.events"
							" WHERE stream_name OPERATOR(pg_catalog.=) $1"
							"   AND stream_version OPERATOR(pg_catalog.>=) $2"
							"   AND stream_version OPERATOR(pg_catalog.<=) $3"
							"   AND created_at OPERATOR(pg_catalog.>=) $5"
							" ORDER BY stream_version%s LIMIT $4",
							es_recorded_event_columns(), order),
				   5, (Oid[]) {TEXTOID, INT8OID, INT8OID, INT4OID, TIMESTAMPTZOID});
	return *cache;
}

static Datum
read_stream(FunctionCallInfo fcinfo, StreamDirection direction)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *stream = es_stream_name_arg(fcinfo, 0);
	int32		max_count = es_max_count_arg(fcinfo, 2, psprintf("stream \"%s\"", stream));
	EsStreamView view;
	int64		lo;
	int64		hi;
	Datum		args[5];
	SPIPlanPtr	plan;
	uint64		i;

	if (direction == STREAM_FORWARD && PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("from_version for stream \"%s\" must not be NULL", stream)));

	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (!stream_view(stream, &view, false))
	{
		SPI_finish();
		return (Datum) 0;
	}

	if (direction == STREAM_FORWARD)
	{
		lo = Max(PG_GETARG_INT64(1), view.min_version);
		hi = PG_INT64_MAX;
		plan = prepare_stream_read(&forward_plan, "");
	}
	else
	{
		lo = view.min_version;
		hi = PG_ARGISNULL(1) ? PG_INT64_MAX : PG_GETARG_INT64(1);
		plan = prepare_stream_read(&backward_plan, " DESC");
	}

	args[0] = CStringGetTextDatum(stream);
	args[1] = Int64GetDatum(lo);
	args[2] = Int64GetDatum(hi);
	args[3] = Int32GetDatum(max_count);
	args[4] = TimestampTzGetDatum(view.not_before);
	if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read stream \"%s\"", stream);

	/* the rows are stored as the query made them: as recorded_event */
	es_check_recorded_desc(rsinfo->setDesc);
	for (i = 0; i < SPI_processed; i++)
		tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);

	SPI_finish();
	return (Datum) 0;
}

/*
 * read_stream_forward(stream_name text, from_version bigint, max_count int)
 */
Datum
es_read_stream_forward(PG_FUNCTION_ARGS)
{
	return read_stream(fcinfo, STREAM_FORWARD);
}

/*
 * read_stream_backward(stream_name text, from_version bigint, max_count int)
 */
Datum
es_read_stream_backward(PG_FUNCTION_ARGS)
{
	return read_stream(fcinfo, STREAM_BACKWARD);
}

/*
 * Read events in global-position order from 'from' (of one category when
 * 'category' is set, of one consumer-group member when 'group' is), up to
 * max_count, stopping before any position the no-gap rule cannot settle.
 *
 * This is the hot read path: it walks the position (or category) index
 * itself and puts each row straight into the result, without the executor.
 * Direct access skips the executor's permission check, so it is made here.
 */
static void
read_positions(FunctionCallInfo fcinfo, const char *category, int64 from,
			   int32 max_count, int32 *group)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const EsCatalog *cat = es_catalog();
	Relation	heap;
	Relation	index;
	TupleTableSlot *slot;
	int			fresh;

	if (pg_class_aclcheck(cat->events, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "events");

	if (from < 1)
		from = 1;

	heap = table_open(cat->events, AccessShareLock);
	index = index_open(category ? cat->events_category_idx : cat->events_pkey, AccessShareLock);
	slot = table_slot_create(heap, NULL);

	for (fresh = 0; fresh < ES_MAX_FRESH_SNAPSHOTS && max_count > 0; fresh++)
	{
		Snapshot	snapshot;
		IndexScanDesc scan;
		ScanKeyData key[2];
		int			nkeys = 0;
		EsGapCheck	gap;
		bool		checking = false;
		bool		stopped = false;
		int64		next = from;

		/* In READ COMMITTED each round reads with a new snapshot. */
		snapshot = RegisterSnapshot(GetTransactionSnapshot());

		if (category)
		{
			ScanKeyInit(&key[nkeys], 1, BTEqualStrategyNumber, F_TEXTEQ,
						CStringGetTextDatum(category));
			key[nkeys++].sk_collation = index->rd_indcollation[0];
		}
		ScanKeyInit(&key[nkeys], nkeys + 1, BTGreaterEqualStrategyNumber, F_INT8GE,
					Int64GetDatum(from));
		nkeys++;
		scan = index_beginscan(heap, index, snapshot, nkeys, 0);
		index_rescan(scan, key, nkeys, NULL, 0);

		gap.late = false;
		while (max_count > 0 && index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			int64		pos;

			CHECK_FOR_INTERRUPTS();
			slot_getallattrs(slot);
			pos = DatumGetInt64(slot->tts_values[Anum_events_global_position - 1]);

			if (group &&
				es_stream_hash_of(DatumGetTextPP(slot->tts_values[Anum_events_stream_name - 1]))
				% group[1] != group[0])
				continue;

			/* Pass every missing position below this row, or stop before it. */
			if (pos > next)
			{
				if (!checking)
					es_gap_check_begin(&gap, snapshot, category);
				checking = true;
				if (es_gap_check(&gap, next, pos - 1) < pos)
				{
					stopped = true;
					break;
				}
			}

			es_put_recorded_event(rsinfo->setResult, rsinfo->setDesc,
								  slot->tts_values, slot->tts_isnull);

			max_count--;
			next = pos + 1;
		}
		index_endscan(scan);
		if (checking)
			es_gap_check_end(&gap);
		UnregisterSnapshot(snapshot);
		from = next;

		/*
		 * Look again only where a fresh snapshot can show more: we stopped at
		 * a commit newer than ours, and this isolation level lets us.
		 */
		if (!stopped || !gap.late || IsolationUsesXactSnapshot())
			break;
	}

	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
}

/*
 * read_all_forward(from_position bigint, max_count int)
 */
Datum
es_read_all_forward(PG_FUNCTION_ARGS)
{
	int32		max_count = es_max_count_arg(fcinfo, 1, "$all");

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("from_position for $all must not be NULL")));

	InitMaterializedSRF(fcinfo, 0);
	read_positions(fcinfo, NULL, PG_GETARG_INT64(0), max_count, NULL);
	return (Datum) 0;
}

/*
 * read_category_forward(category text, from_position bigint, max_count int,
 *						 group_member int, group_size int)
 */
Datum
es_read_category_forward(PG_FUNCTION_ARGS)
{
	int32		max_count;
	char	   *category;
	int32		group[2];
	bool		grouped;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("category must not be NULL")));
	category = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (category[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("category must not be empty")));
	max_count = es_max_count_arg(fcinfo, 2, psprintf("category \"%s\"", category));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("from_position for category \"%s\" must not be NULL", category)));

	grouped = !PG_ARGISNULL(3) || !PG_ARGISNULL(4);
	if (grouped)
	{
		int32		member = PG_ARGISNULL(3) ? -1 : PG_GETARG_INT32(3);
		int32		size = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);

		if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || size < 1 || member < 0 || member >= size)
			ereport(ERROR,
					(errcode(ERRCODE_ES_INVALID_ARGUMENT),
					 errmsg("invalid consumer group for category \"%s\"", category),
					 errdetail("group_member and group_size must both be given, with 0 <= group_member < group_size."),
					 errhint("Member k of n gets the streams whose event_store.stream_hash(name) %% n = k.")));
		group[0] = member;
		group[1] = size;
	}

	InitMaterializedSRF(fcinfo, 0);
	read_positions(fcinfo, category, PG_GETARG_INT64(1), max_count,
				   grouped ? group : NULL);
	return (Datum) 0;
}

/*
 * stream_version(stream_name text) -> bigint
 */
Datum
es_stream_version(PG_FUNCTION_ARGS)
{
	char	   *stream = es_stream_name_arg(fcinfo, 0);
	EsStreamView view;
	bool		found;

	found = stream_view(stream, &view, true);
	PG_RETURN_INT64(found ? view.version : 0);
}
