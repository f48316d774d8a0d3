/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Row-level security for the readers that walk the log's indexes
 *	  directly ($all, categories, consumer groups, subscriptions on them).
 *
 * Those readers scan event_store.events without the executor, so the
 * table's policies are not applied to what they find.  Applying them to the
 * walk itself would be wrong as well as slow: a row a policy hides would look
 * like a hole in the log, and the no-gap rule would stop at it or probe it.
 * So the walk keeps seeing the whole log (the horizon is computed on it, as
 * for anyone), and only what it would RETURN goes through the policies: the
 * positions it accepts are collected and, a batch at a time, read back with
 * one statement run as the caller under the walk's own snapshot, which
 * returns exactly the rows a plain SELECT would show the caller.  For $all
 * and a category with no other filter, the walk accepts every row of the
 * snapshot in its range, so the statement reads the range,
 *
 *	  SELECT <recorded_event> FROM event_store.events
 *	   WHERE global_position BETWEEN $1 AND $2 [AND category = $3]
 *	   ORDER BY global_position LIMIT $4
 *
 * (one index range scan, what a plain SELECT costs); with a consumer group,
 * type or prefix filter it names the accepted positions (= ANY ($1)).  The
 * first batch is as large as the page asked for; each later one is twice the
 * one before (up to ES_POLICY_MAX_BATCH), so a role that sees a small share
 * of the log pays a few statements per page, not one per row.  When no
 * policy applies to the caller (check_enable_rls), none of this runs.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/policy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rls.h"

#include "event_store.h"
#include "events.h"

/* The largest batch of positions read back at once */
#define ES_POLICY_MAX_BATCH		65536

static SPIPlanPtr readback_plan = NULL;
static SPIPlanPtr range_plan = NULL;
static SPIPlanPtr category_range_plan = NULL;
static SPIPlanPtr stream_version_plan = NULL;

/*
 * Does row-level security apply to the current role's reads of
 * event_store.events?  Raises the error a plain SELECT would when
 * row_security is off and policies would apply.
 */
bool
es_policy_applies(void)
{
	return check_enable_rls(es_catalog()->events, InvalidOid, false) == RLS_ENABLED;
}

/*
 * Start a read whose rows go to 'store' (of type recorded_event, 'desc'),
 * through the policies if they apply to the caller.
 */
void
es_policy_begin(EsPolicyFeed *pf, Tuplestorestate *store, TupleDesc desc,
				int32 max_count, const char *category, bool whole_range)
{
	memset(pf, 0, sizeof(*pf));
	pf->active = es_policy_applies();
	if (!pf->active)
		return;
	pf->store = store;
	pf->desc = desc;
	pf->category = category;
	pf->whole_range = whole_range;
	pf->batch = Max(max_count, 1);
	if (!whole_range)
		pf->positions = palloc(sizeof(int64) * Min(pf->batch, ES_POLICY_MAX_BATCH));
	es_check_recorded_desc(desc);

	/*
	 * The caller goes on allocating in its own context: SPI's goes away at
	 * es_policy_end, maybe before what the caller made is released.
	 */
	{
		MemoryContext caller = CurrentMemoryContext;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		MemoryContextSwitchTo(caller);
	}
}

/*
 * A row the walk accepts at 'position' (in 'snapshot'): kept for the next
 * read-back.  Returns how many rows went into the result (0 unless the batch
 * was full and was read back).
 */
int32
es_policy_add(EsPolicyFeed *pf, Snapshot snapshot, int64 position, int32 max_count)
{
	if (pf->whole_range)
	{
		if (pf->count == 0)
			pf->first = position;
		pf->last = position;
		pf->count++;
	}
	else
		pf->positions[pf->count++] = position;
	if (pf->count < Min(pf->batch, ES_POLICY_MAX_BATCH))
		return 0;
	return es_policy_flush(pf, snapshot, max_count);
}

/*
 * Read back the positions kept so far, as the caller, under the snapshot
 * the walk found them in: at most max_count rows, in position order, go into
 * the result.  Returns how many.
 */
int32
es_policy_flush(EsPolicyFeed *pf, Snapshot snapshot, int32 max_count)
{
	Datum		args[2];
	uint64		i;
	int32		added;

	if (pf->count == 0 || max_count <= 0)
	{
		pf->count = 0;
		return 0;
	}

	if (pf->whole_range)
	{
		SPIPlanPtr	plan;
		Datum		range_args[4];

		if (pf->category == NULL)
			plan = es_prepare(&range_plan,
							  psprintf("SELECT %s FROM event_store.events"
									   " WHERE global_position OPERATOR(pg_catalog.>=) $1"
									   "   AND global_position OPERATOR(pg_catalog.<=) $2"
									   " ORDER BY global_position LIMIT $3",
									   es_recorded_event_columns()),
							  3, (Oid[]) {INT8OID, INT8OID, INT4OID});
		else
			plan = es_prepare(&category_range_plan,
							  psprintf("SELECT %s FROM event_store.events"
									   " WHERE category OPERATOR(pg_catalog.=) $4"
									   "   AND global_position OPERATOR(pg_catalog.>=) $1"
									   "   AND global_position OPERATOR(pg_catalog.<=) $2"
									   " ORDER BY global_position LIMIT $3",
									   es_recorded_event_columns()),
							  4, (Oid[]) {INT8OID, INT8OID, INT4OID, TEXTOID});
		range_args[0] = Int64GetDatum(pf->first);
		range_args[1] = Int64GetDatum(pf->last);
		range_args[2] = Int32GetDatum(max_count);
		range_args[3] = pf->category ? CStringGetTextDatum(pf->category) : (Datum) 0;
		if (SPI_execute_snapshot(plan, range_args, NULL, snapshot, InvalidSnapshot,
								 true, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read events back through their row-level security policies");
	}
	else
	{
		es_prepare(&readback_plan,
				   psprintf("SELECT %s FROM event_store.events"
							" WHERE global_position OPERATOR(pg_catalog.=) ANY ($1)"
							" ORDER BY global_position LIMIT $2",
							es_recorded_event_columns()),
				   2, (Oid[]) {INT8ARRAYOID, INT4OID});
		args[0] = PointerGetDatum(construct_array((Datum *) pf->positions, pf->count,
												  INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
												  TYPALIGN_DOUBLE));
		args[1] = Int32GetDatum(max_count);
		if (SPI_execute_snapshot(readback_plan, args, NULL, snapshot, InvalidSnapshot,
								 true, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read events back through their row-level security policies");
		pfree(DatumGetPointer(args[0]));
	}

	for (i = 0; i < SPI_processed; i++)
		tuplestore_puttuple(pf->store, SPI_tuptable->vals[i]);
	added = (int32) SPI_processed;
	SPI_freetuptable(SPI_tuptable);

	/*
	 * The next batch: as many rows as, at the share of the log the caller
	 * has seen so far, should fill the rest of the page (a tenth more), or
	 * twice the last one while it has seen nothing.
	 */
	pf->walked += pf->count;
	pf->shown += added;
	if (max_count > added)
	{
		int64		next;

		if (pf->shown == 0)
			next = (int64) pf->batch * 2;
		else
			next = (int64) ((double) (max_count - added) * pf->walked / pf->shown * 1.1) + 1;
		next = Max(next, 16);
		next = Min(next, ES_POLICY_MAX_BATCH);
		if (!pf->whole_range && next > pf->batch)
			pf->positions = repalloc(pf->positions, sizeof(int64) * next);
		pf->batch = (int32) Max(next, pf->whole_range ? next : pf->batch);
	}
	pf->count = 0;
	return added;
}

void
es_policy_end(EsPolicyFeed *pf)
{
	if (!pf->active)
		return;
	SPI_finish();
}

/*
 * stream_version for a caller under row-level security: the highest version
 * among the stream's events it may see from min_version on (what a plain
 * SELECT shows it), never more than the stream's version.
 */
int64
es_policy_stream_version(const char *stream, int64 min_version, int64 version)
{
	bool		isnull;
	Datum		max;
	int64		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	es_prepare(&stream_version_plan,
			   "SELECT pg_catalog.max(stream_version) FROM event_store.events"
			   " WHERE stream_name OPERATOR(pg_catalog.=) $1"
			   "   AND stream_version OPERATOR(pg_catalog.>=) $2"
			   "   AND stream_version OPERATOR(pg_catalog.<=) $3",
			   3, (Oid[]) {TEXTOID, INT8OID, INT8OID});
	if (SPI_execute_plan(stream_version_plan,
						 (Datum[]) {CStringGetTextDatum(stream), Int64GetDatum(min_version),
						 Int64GetDatum(version)},
						 NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the version of stream \"%s\"", stream);
	max = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result = isnull ? 0 : DatumGetInt64(max);
	SPI_finish();
	return result;
}
