/*-------------------------------------------------------------------------
 *
 * scavenge.c
 *	  scavenge(): physically remove the events that stream reads no longer
 *	  show (soft-deleted, truncated, beyond max_count or max_age).
 *
 * What a reader sees of a stream is decided in one place, es_stream_view
 * (stream.c); scavenge asks it for every stream that has a deletion mark or
 * a limit and removes exactly the rest, oldest position first.  The log
 * readers ($all, categories, decoding) show every event until then, and
 * pass over removed positions.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/scavenge.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "event_store.h"

/* The streams to look at, and what their readers see */
typedef struct ScavengeBounds
{
	int			count;
	Datum	   *names;			/* text */
	Datum	   *min_versions;	/* int8 */
	Datum	   *not_befores;	/* timestamptz */
} ScavengeBounds;

/*
 * scavenge() with no limit works through the streams that may hide events
 * this many at a time, so its memory does not grow with the store.
 */
#define SCAVENGE_BATCH_STREAMS		1000

static SPIPlanPtr candidates_plan = NULL;
static SPIPlanPtr candidates_page_plan = NULL;
static SPIPlanPtr doomed_plan = NULL;
static SPIPlanPtr record_version_plan = NULL;
static SPIPlanPtr delete_plan = NULL;
static SPIPlanPtr record_batch_version_plan = NULL;
static SPIPlanPtr delete_batch_plan = NULL;

static void hidden_bounds(ScavengeBounds *bounds);
static void bounds_of(ScavengeBounds *bounds, uint64 n);
static int64 scavenge_all(void);
static int64 remove_hidden(ScavengeBounds *bounds);

PG_FUNCTION_INFO_V1(es_scavenge);

/*
 * The bounds of every stream whose readers miss anything: the streams that
 * have a deletion mark or a limit (ES_STREAM_MAY_HIDE_SQL), through
 * es_stream_view.
 */
static void
hidden_bounds(ScavengeBounds *bounds)
{
	es_prepare(&candidates_plan,
			   "SELECT stream_name FROM event_store.streams WHERE " ES_STREAM_MAY_HIDE_SQL,
			   0, NULL);
	if (SPI_execute_plan(candidates_plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the streams to scavenge");
	bounds_of(bounds, SPI_processed);
}

/* The bounds of the n streams named by the first column of SPI_tuptable */
static void
bounds_of(ScavengeBounds *bounds, uint64 n)
{
	uint64		i;

	bounds->count = 0;
	bounds->names = palloc(sizeof(Datum) * Max(n, 1));
	bounds->min_versions = palloc(sizeof(Datum) * Max(n, 1));
	bounds->not_befores = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		name = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		EsStreamState state;
		EsStreamView view;

		state = es_stream_state(name, GetActiveSnapshot(), false);
		if (!state.has_row)
			continue;
		es_stream_view(&state, &view);
		if (view.min_version <= 1 && TIMESTAMP_IS_NOBEGIN(view.not_before))
			continue;
		bounds->names[bounds->count] = name;
		bounds->min_versions[bounds->count] = Int64GetDatum(view.min_version);
		bounds->not_befores[bounds->count] = TimestampTzGetDatum(view.not_before);
		bounds->count++;
	}
}

/*
 * scavenge() with no limit: page through the streams that may hide events
 * in name order, SCAVENGE_BATCH_STREAMS at a time, and remove each page's
 * hidden events with one statement that names no position.  Everything a
 * page allocates goes with it, so memory stays flat however many events
 * and streams there are.
 */
static int64
scavenge_all(void)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext page_cxt;
	text	   *after = cstring_to_text("");	/* below every name ("C") */
	int64		removed = 0;

	page_cxt = AllocSetContextCreate(outer, "scavenge page", ALLOCSET_DEFAULT_SIZES);
	es_prepare(&candidates_page_plan,
			   "SELECT stream_name FROM event_store.streams"
			   " WHERE (" ES_STREAM_MAY_HIDE_SQL ")"
			   "   AND stream_name OPERATOR(pg_catalog.>) $1"
			   " ORDER BY stream_name LIMIT $2",
			   2, (Oid[]) {TEXTOID, INT8OID});
	for (;;)
	{
		ScavengeBounds bounds;
		uint64		fetched;
		bool		isnull;
		text	   *last = NULL;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(page_cxt);
		if (SPI_execute_plan(candidates_page_plan,
							 (Datum[]) {PointerGetDatum(after), Int64GetDatum(SCAVENGE_BATCH_STREAMS)},
							 NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not list the streams to scavenge");
		fetched = SPI_processed;
		if (fetched > 0)
			last = DatumGetTextPCopy(SPI_getbinval(SPI_tuptable->vals[fetched - 1],
												   SPI_tuptable->tupdesc, 1, &isnull));
		bounds_of(&bounds, fetched);
		if (bounds.count > 0)
			removed += remove_hidden(&bounds);
		SPI_freetuptable(SPI_tuptable);

		MemoryContextSwitchTo(outer);
		if (fetched < SCAVENGE_BATCH_STREAMS)
			break;
		pfree(after);
		after = (text *) pg_detoast_datum_copy((struct varlena *) last);
		MemoryContextReset(page_cxt);
	}
	MemoryContextDelete(page_cxt);
	return removed;
}

/*
 * Remove every hidden event of the streams in 'bounds' (one page): record
 * the version of the streams that lose events on their rows first, as the
 * limited scavenge does, then one DELETE joined to the bounds.
 */
static int64
remove_hidden(ScavengeBounds *bounds)
{
	Datum		args[3];

	args[0] = es_array_of(bounds->names, NULL, bounds->count, TEXTOID);
	args[1] = es_array_of(bounds->min_versions, NULL, bounds->count, INT8OID);
	args[2] = es_array_of(bounds->not_befores, NULL, bounds->count, TIMESTAMPTZOID);

	es_prepare(&record_batch_version_plan,
			   "UPDATE event_store.streams s"
			   "   SET stream_version = top.version"
			   "  FROM (SELECT v.stream_name,"
			   "               (SELECT pg_catalog.max(l.stream_version) FROM event_store.events l"
			   "                 WHERE l.stream_name OPERATOR(pg_catalog.=) v.stream_name) AS version"
			   "          FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
			   "                          pg_catalog.unnest($3)) AS v(stream_name, min_version, not_before)"
			   "         WHERE EXISTS (SELECT FROM event_store.events h"
			   "                        WHERE h.stream_name OPERATOR(pg_catalog.=) v.stream_name"
			   "                          AND (h.stream_version OPERATOR(pg_catalog.<) v.min_version"
			   "                               OR h.created_at OPERATOR(pg_catalog.<) v.not_before))) top"
			   " WHERE s.stream_name OPERATOR(pg_catalog.=) top.stream_name"
			   "   AND s.stream_version OPERATOR(pg_catalog.<) top.version",
			   3, (Oid[]) {TEXTARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID});
	if (SPI_execute_plan(record_batch_version_plan, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the versions of the streams to scavenge");

	es_prepare(&delete_batch_plan,
			   "DELETE FROM event_store.events e"
			   " USING ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
			   "                  pg_catalog.unnest($3)) AS v(stream_name, min_version, not_before)"
			   " WHERE e.stream_name OPERATOR(pg_catalog.=) v.stream_name"
			   "   AND (e.stream_version OPERATOR(pg_catalog.<) v.min_version"
			   "        OR e.created_at OPERATOR(pg_catalog.<) v.not_before)",
			   3, (Oid[]) {TEXTARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID});
	if (SPI_execute_plan(delete_batch_plan, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the scavenged events");
	return (int64) SPI_processed;
}

/*
 * scavenge(max_events bigint DEFAULT NULL) -> bigint
 *
 * Removes at most max_events hidden events, lowest positions first, or all
 * of them when max_events is NULL (scavenge_all: in pages of streams, in
 * bounded memory), and returns how many.  A plain DELETE takes no lock that
 * appends or reads wait for.
 */
Datum
es_scavenge(PG_FUNCTION_ARGS)
{
	Datum		limit = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	ScavengeBounds bounds;
	bool		isnull;
	Datum		doomed;
	Datum		touched;
	int64		removed;

	if (!PG_ARGISNULL(0) && PG_GETARG_INT64(0) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("invalid max_events for scavenge"),
				 errdetail("max_events must be at least 1, or NULL for all, but is %lld.",
						   (long long) PG_GETARG_INT64(0))));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (PG_ARGISNULL(0))
	{
		removed = scavenge_all();
		SPI_finish();
		PG_RETURN_INT64(removed);
	}

	hidden_bounds(&bounds);
	if (bounds.count == 0)
	{
		SPI_finish();
		PG_RETURN_INT64(0);
	}

	/* The hidden events, oldest first, and the streams they belong to */
	es_prepare(&doomed_plan,
			   "SELECT pg_catalog.array_agg(d.global_position), pg_catalog.array_agg(DISTINCT d.stream_name)"
			   "  FROM (SELECT e.global_position, e.stream_name"
			   "          FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
			   "                          pg_catalog.unnest($3)) AS v(stream_name, min_version, not_before)"
			   "          JOIN event_store.events e"
			   "            ON e.stream_name OPERATOR(pg_catalog.=) v.stream_name"
			   "         WHERE e.stream_version OPERATOR(pg_catalog.<) v.min_version"
			   "            OR e.created_at OPERATOR(pg_catalog.<) v.not_before"
			   "         ORDER BY e.global_position LIMIT $4) d",
			   4, (Oid[]) {TEXTARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, INT8OID});
	if (SPI_execute_plan(doomed_plan,
						 (Datum[]) {es_array_of(bounds.names, NULL, bounds.count, TEXTOID),
						 es_array_of(bounds.min_versions, NULL, bounds.count, INT8OID),
						 es_array_of(bounds.not_befores, NULL, bounds.count, TIMESTAMPTZOID),
						 limit},
						 PG_ARGISNULL(0) ? "   n" : NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not find the events to scavenge");
	doomed = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
	{
		SPI_finish();
		PG_RETURN_INT64(0);
	}
	touched = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

	/*
	 * A stream's version is read from its last event unless its row says
	 * more: record it on the row before the last events may go.
	 */
	es_prepare(&record_version_plan,
			   "UPDATE event_store.streams s"
			   "   SET stream_version = top.version"
			   "  FROM (SELECT e.stream_name, pg_catalog.max(e.stream_version) AS version"
			   "          FROM event_store.events e"
			   "         WHERE e.stream_name OPERATOR(pg_catalog.=) ANY ($1)"
			   "         GROUP BY e.stream_name) top"
			   " WHERE s.stream_name OPERATOR(pg_catalog.=) top.stream_name"
			   "   AND s.stream_version OPERATOR(pg_catalog.<) top.version",
			   1, (Oid[]) {TEXTARRAYOID});
	if (SPI_execute_plan(record_version_plan, &touched, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the versions of the streams to scavenge");

	es_prepare(&delete_plan,
			   "DELETE FROM event_store.events e"
			   " WHERE e.global_position OPERATOR(pg_catalog.=) ANY ($1)",
			   1, (Oid[]) {INT8ARRAYOID});
	if (SPI_execute_plan(delete_plan, &doomed, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the scavenged events");
	removed = (int64) SPI_processed;

	SPI_finish();
	PG_RETURN_INT64(removed);
}
