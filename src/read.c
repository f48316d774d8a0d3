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

typedef enum StreamDirection
{
	STREAM_FORWARD,
	STREAM_BACKWARD
} StreamDirection;

static SPIPlanPtr forward_plan = NULL;
static SPIPlanPtr backward_plan = NULL;

static SPIPlanPtr prepare_stream_read(SPIPlanPtr *cache, const char *order);
static Datum read_stream(FunctionCallInfo fcinfo, StreamDirection direction);
static Datum read_feed(FunctionCallInfo fcinfo, EsFeedArgs args);
static void filter_args(FunctionCallInfo fcinfo, int types_arg, const char *source,
						EsFeed *feed);
static int	text_datum_cmp(const void *a, const void *b, void *arg);

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
	if (!state.has_row)
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

	es_init_result_set(fcinfo);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (!stream_view(stream, &view, false))
	{
		SPI_finish();
		es_wait_durable();
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
	es_wait_durable();
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
 * The filter arguments event_types text[] and stream_prefix text at
 * types_arg and types_arg + 1 (absent when the SQL function is the 1.1 one,
 * before the upgrade).  NULL is no filter; an empty list, a NULL type or an
 * empty prefix is ES004 naming 'source'.
 */
static void
filter_args(FunctionCallInfo fcinfo, int types_arg, const char *source, EsFeed *feed)
{
	int			prefix_arg = types_arg + 1;

	if (PG_NARGS() > types_arg && !PG_ARGISNULL(types_arg))
	{
		ArrayType  *array = PG_GETARG_ARRAYTYPE_P(types_arg);
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;

		deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_ES_INVALID_ARGUMENT),
					 errmsg("event_types for %s must not be empty", source),
					 errhint("Pass NULL for every event type.")));
		for (i = 0; i < n; i++)
			if (nulls[i] || VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i])) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_ES_INVALID_ARGUMENT),
						 errmsg("event_types for %s must not contain NULL or empty names", source),
						 errdetail("Element %d is %s.", i + 1, nulls[i] ? "NULL" : "empty")));

		/* distinct, in order: one index scan per type */
		qsort_arg(elems, n, sizeof(Datum), text_datum_cmp, NULL);
		feed->types = palloc(sizeof(Datum) * n);
		for (i = 0; i < n; i++)
			if (i == 0 || text_datum_cmp(&elems[i - 1], &elems[i], NULL) != 0)
				feed->types[feed->ntypes++] = elems[i];
	}

	if (PG_NARGS() > prefix_arg && !PG_ARGISNULL(prefix_arg))
	{
		text	   *prefix = PG_GETARG_TEXT_PP(prefix_arg);

		feed->prefix_len = VARSIZE_ANY_EXHDR(prefix);
		if (feed->prefix_len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_ES_INVALID_ARGUMENT),
					 errmsg("stream_prefix for %s must not be empty", source),
					 errhint("Pass NULL for every stream.")));
		feed->prefix = VARDATA_ANY(prefix);
	}
}

/* Byte order: any fixed order serves to drop repeated types */
static int
text_datum_cmp(const void *a, const void *b, void *arg)
{
	text	   *ta = DatumGetTextPP(*(const Datum *) a);
	text	   *tb = DatumGetTextPP(*(const Datum *) b);
	int			la = VARSIZE_ANY_EXHDR(ta);
	int			lb = VARSIZE_ANY_EXHDR(tb);
	int			c = memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), Min(la, lb));

	return c != 0 ? c : (la > lb) - (la < lb);
}

/*
 * read_all_forward(from_position bigint, max_count int,
 *					event_types text[], stream_prefix text)
 */
Datum
es_read_all_forward(PG_FUNCTION_ARGS)
{
	return read_feed(fcinfo, es_all_feed_args);
}

/*
 * read_all_forward's arguments, checked, as the feed to read, its first
 * position and max_count.  feed_scan.c, which reads a call in FROM without
 * calling the function, checks them here too.
 */
void
es_all_feed_args(FunctionCallInfo fcinfo, EsFeed *feed, int64 *from, int32 *max_count)
{
	*max_count = es_max_count_arg(fcinfo, 1, "$all");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("from_position for $all must not be NULL")));
	filter_args(fcinfo, 2, "$all", feed);
	*from = PG_GETARG_INT64(0);
}

/*
 * read_category_forward(category text, from_position bigint, max_count int,
 *						 group_member int, group_size int,
 *						 event_types text[], stream_prefix text)
 */
Datum
es_read_category_forward(PG_FUNCTION_ARGS)
{
	return read_feed(fcinfo, es_category_feed_args);
}

/* The two readers' body: check the arguments, read into the result set */
static Datum
read_feed(FunctionCallInfo fcinfo, EsFeedArgs args)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EsFeed		feed = {0};
	int64		from;
	int32		max_count;

	args(fcinfo, &feed, &from, &max_count);
	es_init_result_set(fcinfo);
	es_read_feed(rsinfo->setResult, rsinfo->setDesc, &feed, from, max_count);
	return (Datum) 0;
}

/* read_category_forward's arguments, checked, as es_all_feed_args */
void
es_category_feed_args(FunctionCallInfo fcinfo, EsFeed *feed, int64 *from, int32 *max_count)
{
	char	   *category;
	char	   *source;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("category must not be NULL")));
	category = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (category[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("category must not be empty")));
	source = psprintf("category \"%s\"", category);
	*max_count = es_max_count_arg(fcinfo, 2, source);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("from_position for %s must not be NULL", source)));

	if (!PG_ARGISNULL(3) || !PG_ARGISNULL(4))
	{
		int32		member = PG_ARGISNULL(3) ? -1 : PG_GETARG_INT32(3);
		int32		size = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);

		if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || size < 1 || member < 0 || member >= size)
			ereport(ERROR,
					(errcode(ERRCODE_ES_INVALID_ARGUMENT),
					 errmsg("invalid consumer group for %s", source),
					 errdetail("group_member and group_size must both be given, with 0 <= group_member < group_size."),
					 errhint("Member k of n gets the streams whose event_store.stream_hash(name) %% n = k.")));
		feed->group_member = member;
		feed->group_size = size;
	}
	filter_args(fcinfo, 5, source, feed);
	feed->category = category;
	*from = PG_GETARG_INT64(1);
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
	es_wait_durable();
	if (!found || view.version == 0)
		PG_RETURN_INT64(0);
	/* under row-level security: the last version the caller may see */
	if (es_policy_applies())
		PG_RETURN_INT64(es_policy_stream_version(stream, view.min_version, view.version));
	PG_RETURN_INT64(view.version);
}
