/*-------------------------------------------------------------------------
 *
 * append.c
 *	  append_to_stream: lock the stream, recognise retries, check the
 *	  expected version, draw positions, insert, notify (or leave that to
 *	  the notifier, notifier.c).
 *
 * Appends to one stream are serialised by a transaction-level advisory lock
 * on a 64-bit hash of its name (a collision only makes two streams wait for
 * each other).  Appends to different streams share nothing but the position
 * sequence and the shared bucket locks of the no-gap protocol (horizon.c).
 *
 * All table access goes through plans prepared once per backend and run by
 * SPI.  append_to_stream is SECURITY DEFINER: it runs as the extension's
 * owner, since no other role may write the tables; the caller's level is its
 * EXECUTE privilege on the function.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/append.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "event_store.h"
#include "events.h"

static SPIPlanPtr ids_plan = NULL;
static SPIPlanPtr create_stream_plan = NULL;

/*
 * The attributes of event_store.new_event, found by name in the type's
 * descriptor: ALTER TYPE … ADD/DROP ATTRIBUTE moves them, and a future
 * version may add some, so their positions are never assumed.
 */
typedef enum NewEventAttr
{
	NE_EVENT_ID,
	NE_EVENT_TYPE,
	NE_DATA,
	NE_METADATA,
	NE_CAUSATION_ID,
	NE_CORRELATION_ID,
	NE_NATTS
} NewEventAttr;

static const struct
{
	const char *name;
	Oid			type;
}			new_event_attrs[NE_NATTS] = {
	[NE_EVENT_ID] = {"event_id", UUIDOID},
	[NE_EVENT_TYPE] = {"event_type", TEXTOID},
	[NE_DATA] = {"data", JSONBOID},
	[NE_METADATA] = {"metadata", JSONBOID},
	[NE_CAUSATION_ID] = {"causation_id", UUIDOID},
	[NE_CORRELATION_ID] = {"correlation_id", UUIDOID},
};

static void new_event_layout(TupleDesc desc, int *attnos);
static EsNewEvent *unpack_events(const char *stream, ArrayType *array, int *nevents);
static int	given_ids(const char *stream, EsNewEvent *events, int nevents, Datum **ids);
static bool stored_as_retry(const char *stream, Datum name, EsNewEvent *events, int nevents,
							Datum *ids, int nids, int64 *version);
static int	uuid_datum_cmp(const void *a, const void *b);
static void draw_positions(Oid seq, int64 *positions, int n);

PG_FUNCTION_INFO_V1(es_append_to_stream);

/*
 * append_to_stream(stream_name text, expected_version bigint,
 *					events event_store.new_event[]) -> bigint
 */
Datum
es_append_to_stream(PG_FUNCTION_ARGS)
{
	char	   *stream;
	int			stream_len;
	int64		expected;
	EsNewEvent *events;
	int			nevents;
	Datum		name;
	Datum		category;
	EsStreamState state;
	int64		version;
	int64	   *positions;
	int64		last_position;
	bool		notify_here;
	MemoryContext call_context = CurrentMemoryContext;
	Datum	   *ids;
	int			nids;

	stream = es_stream_name_arg(fcinfo, 0);
	stream_len = strlen(stream);
	expected = es_expected_version_arg(fcinfo, 1, stream, "append");

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("events to append to stream \"%s\" must not be NULL", stream)));
	events = unpack_events(stream, PG_GETARG_ARRAYTYPE_P(2), &nevents);

	name = PointerGetDatum(cstring_to_text_with_len(stream, stream_len));
	category = CStringGetTextDatum(es_category_of(stream, stream_len));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	state = es_lock_stream(stream, name);

	/*
	 * An exact retry of a stored batch gets its original answer; any other
	 * reuse of an event id is ES003.
	 */
	nids = given_ids(stream, events, nevents, &ids);
	if (nids > 0 && stored_as_retry(stream, name, events, nevents, ids, nids, &version))
	{
		es_wait_durable();		/* what it answers may still be flushing */
		SPI_finish();
		PG_RETURN_INT64(version);
	}

	es_check_expected_version(stream, expected, &state);

	/*
	 * With notify = async the notifier sends it after commit, if one is
	 * ready; this must be known before the positions are drawn (notifier.c).
	 */
	notify_here = es_notify == ES_NOTIFY_COMMIT ||
		(es_notify == ES_NOTIFY_ASYNC && !es_notifier_will_notify());

	positions = palloc(sizeof(int64) * nevents);
	draw_positions(es_catalog()->position_seq, positions, nevents);
	if (!notify_here && es_notify == ES_NOTIFY_ASYNC)
		notify_here = !es_notifier_mark(positions, nevents);
	else if (notify_here && es_notify == ES_NOTIFY_ASYNC)
		es_notifier_start();
	es_wake_waiters_at_end();

	/* a concurrent append of one of our ids elsewhere: ES003, not 23505 */
	PG_TRY();
	{
		es_insert_events(stream, name, category, state.version, events, positions, nevents);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(call_context);
		es_rethrow_duplicate_id(stream, CopyErrorData());
	}
	PG_END_TRY();

	/*
	 * A new stream gets its row.  An existing one needs no update: its version
	 * is read from its last event (stream.c).
	 */
	version = state.version + nevents;
	es_stream_version_hint(name, version);
	if (!state.has_row)
	{
		es_prepare(&create_stream_plan,
				   "INSERT INTO event_store.streams (stream_name, category, stream_version)"
				   " VALUES ($1, $2, $3)",
				   3, (Oid[]) {TEXTOID, TEXTOID, INT8OID});
		if (SPI_execute_plan(create_stream_plan,
							 (Datum[]) {name, category, Int64GetDatum(version)},
							 NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not create stream \"%s\"", stream);
	}

	/* SPI_finish frees what was palloc'd since SPI_connect: positions too */
	last_position = positions[nevents - 1];
	SPI_finish();

	if (notify_here)
	{
		/* listeners must not hear of it before it is durable (commit.c) */
		es_keep_stream_locks_to_end();
		es_send_notification(stream, state.version + 1, version, last_position);
	}

	PG_RETURN_INT64(version);
}

/*
 * Check and unpack the new_event[] argument.  Every refusal names the stream
 * and, where it applies, the (1-based) index of the offending event.
 */
static EsNewEvent *
unpack_events(const char *stream, ArrayType *array, int *nevents)
{
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	EsNewEvent *events;
	TupleDesc	tupdesc;
	int			attnos[NE_NATTS];
	Datum	   *values;
	bool	   *nulls;
	int			i;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("events to append to stream \"%s\" must be a one-dimensional array", stream),
				 errdetail("The array has %d dimensions.", ARR_NDIM(array))));

	deconstruct_array(array, ARR_ELEMTYPE(array), -1, false, TYPALIGN_DOUBLE,
					  &elems, &elem_nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("no events to append to stream \"%s\"", stream),
				 errdetail("An append needs at least one event.")));

	tupdesc = lookup_rowtype_tupdesc(ARR_ELEMTYPE(array), -1);
	new_event_layout(tupdesc, attnos);
	values = palloc(sizeof(Datum) * tupdesc->natts);
	nulls = palloc(sizeof(bool) * tupdesc->natts);
	events = palloc0(sizeof(EsNewEvent) * n);

	for (i = 0; i < n; i++)
	{
		EsNewEvent *ev = &events[i];
		HeapTupleHeader td;
		HeapTupleData tuple;
		Datum		fields[NE_NATTS];
		bool		isnull[NE_NATTS];
		int			a;

		if (elem_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_ES_INVALID_ARGUMENT),
					 errmsg("event %d to append to stream \"%s\" is NULL", i + 1, stream)));

		td = DatumGetHeapTupleHeader(elems[i]);
		tuple.t_len = HeapTupleHeaderGetDatumLength(td);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = td;
		heap_deform_tuple(&tuple, tupdesc, values, nulls);
		for (a = 0; a < NE_NATTS; a++)
		{
			isnull[a] = attnos[a] < 0 || nulls[attnos[a]];
			fields[a] = isnull[a] ? (Datum) 0 : values[attnos[a]];
		}

		if (isnull[NE_EVENT_TYPE] || VARSIZE_ANY_EXHDR(DatumGetPointer(fields[NE_EVENT_TYPE])) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_ES_INVALID_ARGUMENT),
					 errmsg("event %d to append to stream \"%s\" has no event type", i + 1, stream),
					 errdetail("event_type must be a non-empty string.")));

		ev->id_given = !isnull[NE_EVENT_ID];
		if (ev->id_given)
			ev->event_id = fields[NE_EVENT_ID];
		else
		{
			pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));

			es_uuid7(uuid->data);
			ev->event_id = UUIDPGetDatum(uuid);
		}
		ev->event_type = fields[NE_EVENT_TYPE];
		ev->data = fields[NE_DATA];
		ev->data_null = isnull[NE_DATA];
		ev->metadata = fields[NE_METADATA];
		ev->metadata_null = isnull[NE_METADATA];
		ev->causation_id = fields[NE_CAUSATION_ID];
		ev->causation_null = isnull[NE_CAUSATION_ID];
		ev->correlation_id = fields[NE_CORRELATION_ID];
		ev->correlation_null = isnull[NE_CORRELATION_ID];
	}
	ReleaseTupleDesc(tupdesc);

	*nevents = n;
	return events;
}

/*
 * Where each attribute of new_event is in the type's descriptor (-1: not
 * there, read as NULL).  An attribute this version does not know, or one of
 * ours with another type, is an error: its values would be lost or misread.
 */
static void
new_event_layout(TupleDesc desc, int *attnos)
{
	int			i;
	int			a;

	for (a = 0; a < NE_NATTS; a++)
		attnos[a] = -1;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		for (a = 0; a < NE_NATTS; a++)
			if (strcmp(NameStr(att->attname), new_event_attrs[a].name) == 0)
				break;
		if (a == NE_NATTS)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("type event_store.new_event has an attribute \"%s\" that this version of event_store does not know",
							NameStr(att->attname)),
					 errdetail("Its values would not be stored."),
					 errhint("Drop the attribute, or update the extension to the version that added it.")));
		if (att->atttypid != new_event_attrs[a].type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("attribute \"%s\" of type event_store.new_event has type %s, not %s",
							NameStr(att->attname), format_type_be(att->atttypid),
							format_type_be(new_event_attrs[a].type))));
		attnos[a] = i;
	}

	if (attnos[NE_EVENT_TYPE] < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("type event_store.new_event has no attribute \"event_type\""),
				 errhint("Re-create the extension, or add the attribute back.")));
}

/*
 * The event ids the caller gave (a NULL id gets a new one, never stored),
 * sorted, in *ids; returns how many.  An id given twice in the batch is a
 * duplicate too (ES003, not the unique index's 23505): sorting finds it.
 */
static int
given_ids(const char *stream, EsNewEvent *events, int nevents, Datum **ids)
{
	int			nids = 0;
	int			i;

	*ids = palloc(sizeof(Datum) * nevents);
	for (i = 0; i < nevents; i++)
		if (events[i].id_given)
			(*ids)[nids++] = events[i].event_id;

	qsort(*ids, nids, sizeof(Datum), uuid_datum_cmp);
	for (i = 1; i < nids; i++)
		if (uuid_datum_cmp(&(*ids)[i - 1], &(*ids)[i]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_ES_DUPLICATE_EVENT),
					 errmsg("duplicate event id in append to stream \"%s\"", stream),
					 errdetail("Event %s appears more than once in the batch.",
							   DatumGetCString(DirectFunctionCall1(uuid_out, (*ids)[i])))));
	return nids;
}

/*
 * Are any of the batch's given ids ('ids', sorted) stored already?  If the
 * whole batch is stored exactly (same ids, this stream, same order,
 * contiguous versions), it is a retry: set *version to the version its
 * append returned and return true.  Ids stored in any other way are ES003.
 * Returns false when none is stored.
 */
static bool
stored_as_retry(const char *stream, Datum name, EsNewEvent *events, int nevents,
				Datum *ids, int nids, int64 *version)
{
	ArrayType  *id_array;
	int64		first = 0;
	uint64		i;

	id_array = construct_array(ids, nids, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR);
	es_prepare(&ids_plan,
			"SELECT event_id, stream_name, stream_version"
			"  FROM event_store.events WHERE event_id OPERATOR(pg_catalog.=) ANY ($1)"
			" ORDER BY stream_name, stream_version",
			1, (Oid[]) {UUIDARRAYOID});
	if (SPI_execute_snapshot(ids_plan, (Datum[]) {PointerGetDatum(id_array)}, NULL,
							 GetLatestSnapshot(), InvalidSnapshot, true, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look up event ids");
	if (SPI_processed == 0)
		return false;

	/*
	 * Every event must be stored, here, at the next version in turn: the
	 * rows, in version order, are the batch in its order.
	 */
	if (SPI_processed == (uint64) nevents && nids == nevents)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		exact = true;
		bool		isnull;

		first = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], desc, 3, &isnull));
		for (i = 0; i < SPI_processed && exact; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			pg_uuid_t  *id = DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull));

			exact = memcmp(id->data, DatumGetUUIDP(events[i].event_id)->data, UUID_LEN) == 0 &&
				DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)) == first + (int64) i &&
				DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, name,
													 SPI_getbinval(tup, desc, 2, &isnull)));
		}
		if (exact)
		{
			*version = first + nevents - 1;
			return true;
		}
	}

	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		ereport(ERROR,
				(errcode(ERRCODE_ES_DUPLICATE_EVENT),
				 errmsg("duplicate event id in append to stream \"%s\"", stream),
				 errdetail("Event %s is already stored as version %s of stream \"%s\", "
						   "and the batch is not an exact retry of a stored append.",
						   SPI_getvalue(tup, desc, 1), SPI_getvalue(tup, desc, 3),
						   SPI_getvalue(tup, desc, 2))));
	}
	return false;				/* keep compiler quiet */
}

static int
uuid_datum_cmp(const void *a, const void *b)
{
	return memcmp(DatumGetUUIDP(*(const Datum *) a)->data,
				  DatumGetUUIDP(*(const Datum *) b)->data, UUID_LEN);
}

/*
 * Draw n global positions, keeping only those in buckets this transaction
 * locked before drawing them (horizon.c explains why).  A position drawn
 * outside them is abandoned: it stays a hole that readers pass.
 */
static void
draw_positions(Oid seq, int64 *positions, int n)
{
	int64		low = ES_BUCKET_OF(es_last_drawn_position(seq) + 1);
	int64		high = low + 1;
	int			i = 0;

	es_lock_bucket_shared(low);
	es_lock_bucket_shared(high);

	while (i < n)
	{
		int64		pos = nextval_internal(seq, true);
		int64		bucket = ES_BUCKET_OF(pos);

		if (bucket > high)
		{
			/* others drew past our buckets meanwhile: lock anew, draw again */
			low = bucket;
			high = bucket + 1;
			es_lock_bucket_shared(low);
			es_lock_bucket_shared(high);
			continue;
		}
		positions[i++] = pos;

		/* entering our last bucket: take the next before drawing from it */
		if (bucket == high && i < n)
			es_lock_bucket_shared(++high);
	}
}
