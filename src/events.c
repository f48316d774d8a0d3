/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The event row in one place: the columns of event_store.events, its
 *	  projection event_store.recorded_event (what the readers return and the
 *	  decoder emits), and the statements that insert it.
 *
 * The readers, the decoder and append_to_stream know the row only through
 * here, so a new column is a change to this file, events.h and the SQL.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/events.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/acl.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/timestamp.h"

#include "event_store.h"
#include "events.h"

/*
 * The columns in table order.  'key' is the column's key in the decoder's
 * JSON; the columns that have one, in this order, are recorded_event.
 */
const EsEventColumn es_event_columns[Natts_events] = {
	[Anum_events_global_position - 1] = {"global_position", INT8OID, "position"},
	[Anum_events_stream_name - 1] = {"stream_name", TEXTOID, "stream"},
	[Anum_events_category - 1] = {"category", TEXTOID, NULL},
	[Anum_events_stream_version - 1] = {"stream_version", INT8OID, "version"},
	[Anum_events_event_id - 1] = {"event_id", UUIDOID, "id"},
	[Anum_events_event_type - 1] = {"event_type", TEXTOID, "type"},
	[Anum_events_data - 1] = {"data", JSONBOID, "data"},
	[Anum_events_metadata - 1] = {"metadata", JSONBOID, "metadata"},
	[Anum_events_causation_id - 1] = {"causation_id", UUIDOID, "causation_id"},
	[Anum_events_correlation_id - 1] = {"correlation_id", UUIDOID, "correlation_id"},
	[Anum_events_created_at - 1] = {"created_at", TIMESTAMPTZOID, "created_at"},
};

static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr insert_batch_plan = NULL;

static char *column_list(bool recorded_only);
static void event_row(EsEventRow *row, const EsNewEvent *ev, Datum name,
					  Datum category, int64 version, int64 position,
					  Datum created_at);
static SPIPlanPtr prepare_insert(SPIPlanPtr *cache, bool batch);
static bool insert_direct(const EsNewEvent *events, const int64 *positions, int n,
						  Datum name, Datum category, int64 version, Datum created_at);

/* "a, b, c": the columns of the table, or of recorded_event, in order */
static char *
column_list(bool recorded_only)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < Natts_events; i++)
	{
		if (recorded_only && es_event_columns[i].key == NULL)
			continue;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
						 es_event_columns[i].name);
	}
	return buf.data;
}

/*
 * The select list of event_store.recorded_event, for queries over
 * event_store.events (built once per backend).
 */
const char *
es_recorded_event_columns(void)
{
	static char *list = NULL;

	if (list == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		list = column_list(true);
		MemoryContextSwitchTo(old);
	}
	return list;
}

/*
 * Is a result descriptor exactly recorded_event as this version knows it?
 * The readers' result type is read from the catalog: a recorded_event
 * changed by ALTER TYPE (an attribute added, dropped or retyped) must give an
 * error, never rows formed with other types or values read past our arrays.
 */
void
es_check_recorded_desc(TupleDesc desc)
{
	int			n = 0;
	int			i;

	for (i = 0; i < Natts_events; i++)
	{
		Form_pg_attribute att;

		if (es_event_columns[i].key == NULL)
			continue;
		if (n >= desc->natts)
			break;
		att = TupleDescAttr(desc, n);
		if (att->attisdropped || att->atttypid != es_event_columns[i].type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("type event_store.recorded_event does not match this version of event_store"),
					 errdetail("Attribute %d should be \"%s\" of type %s.", n + 1,
							   es_event_columns[i].name, format_type_be(es_event_columns[i].type)),
					 errhint("Undo the ALTER TYPE, or update the extension to the version that changed it.")));
		n++;
	}
	if (desc->natts != n || n != Natts_recorded_event)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("type event_store.recorded_event does not match this version of event_store"),
				 errdetail("It has %d attributes (dropped ones included), not %d.",
						   desc->natts, Natts_recorded_event),
				 errhint("Undo the ALTER TYPE, or update the extension to the version that changed it.")));
}

/*
 * Put an event row (values and nulls in table order) into a result of type
 * recorded_event.
 */
void
es_put_recorded_event(Tuplestorestate *store, TupleDesc desc,
					  const Datum *values, const bool *nulls)
{
	Datum		out_values[Natts_recorded_event];
	bool		out_nulls[Natts_recorded_event];

	es_check_recorded_desc(desc);
	es_recorded_event_values(values, nulls, out_values, out_nulls);
	tuplestore_putvalues(store, desc, out_values, out_nulls);
}

/*
 * The recorded_event columns of an events row given as values and nulls in
 * table order (the datums are the row's, not copies).
 */
void
es_recorded_event_values(const Datum *values, const bool *nulls,
						 Datum *out_values, bool *out_nulls)
{
	int			n = 0;

	for (int i = 0; i < Natts_events; i++)
	{
		if (es_event_columns[i].key == NULL)
			continue;
		out_values[n] = values[i];
		out_nulls[n] = nulls[i];
		n++;
	}
}

/*
 * Put a stored events row into a result of type recorded_event without
 * deforming it: recorded_event is the row without its category, so its
 * bytes are the row's with that attribute cut out, each attribute after it
 * moved to its alignment in the shorter row.  A read of $all spent a sixth
 * of its time deforming rows only to form them again (docs/benchmarks.md,
 * (e)).  'table' is the events relation's descriptor and must be exactly
 * our columns (es_event_desc_mismatch), and 'desc' recorded_event
 * (es_check_recorded_desc): the caller checks both, once per read.  A tuple
 * with another number of attributes goes the long way.
 */
void
es_put_stored_event(Tuplestorestate *store, TupleDesc desc, TupleDesc table,
					HeapTuple tuple)
{
	HeapTupleHeader src = tuple->t_data;
	bool		hasnull = HeapTupleHasNulls(tuple);
	bits8	   *src_bits = src->t_bits;
	char	   *src_data = (char *) src + src->t_hoff;
	HeapTupleHeader dst;
	HeapTupleData out;
	char	   *dst_data;
	bits8	   *dst_bits;
	Size		hoff;
	long		src_off = 0;
	long		dst_off = 0;
	int			n = 0;
	int			i;

	if (HeapTupleHeaderGetNatts(src) != Natts_events)
	{
		EsEventRow	row;

		es_event_deform(tuple, table, &row);
		es_put_recorded_event(store, desc, row.values, row.nulls);
		return;
	}

	hoff = SizeofHeapTupleHeader + (hasnull ? BITMAPLEN(Natts_recorded_event) : 0);
	hoff = MAXALIGN(hoff);
	/* dropping an attribute adds at most one alignment's padding */
	dst = palloc0(hoff + (tuple->t_len - src->t_hoff) + MAXIMUM_ALIGNOF);
	dst_bits = dst->t_bits;
	dst_data = (char *) dst + hoff;

	for (i = 0; i < Natts_events; i++)
	{
		Form_pg_attribute att = TupleDescAttr(table, i);
		bool		keep = es_event_columns[i].key != NULL;
		Size		len;

		if (hasnull && att_isnull(i, src_bits))
		{
			if (keep)
				n++;			/* its bit stays 0: null */
			continue;
		}
		src_off = att_align_pointer(src_off, att->attalign, att->attlen, src_data + src_off);
		len = att_addlength_pointer((Size) 0, att->attlen, src_data + src_off);
		if (keep)
		{
			/* a short varlena goes unaligned, as heap_fill_tuple puts it */
			if (att->attlen != -1 || !VARATT_IS_1B(src_data + src_off))
				dst_off = att_align_nominal(dst_off, att->attalign);
			memcpy(dst_data + dst_off, src_data + src_off, len);
			dst_off += len;
			if (hasnull)
				dst_bits[n >> 3] |= (1 << (n & 7));
			n++;
		}
		src_off += len;
	}

	HeapTupleHeaderSetNatts(dst, Natts_recorded_event);
	dst->t_hoff = hoff;
	dst->t_infomask = src->t_infomask & (HEAP_HASNULL | HEAP_HASVARWIDTH | HEAP_HASEXTERNAL);
	out.t_len = hoff + dst_off;
	out.t_data = dst;
	ItemPointerSetInvalid(&out.t_self);
	out.t_tableOid = InvalidOid;
	tuplestore_puttuple(store, &out);
	pfree(dst);
}

/*
 * Does a relation descriptor begin with the columns of event_store.events?
 * Returns 0 if so, else the number of the first column that is missing or
 * has another type.  Columns after ours are allowed.
 */
int
es_event_desc_mismatch(TupleDesc desc)
{
	int			i;

	for (i = 0; i < Natts_events; i++)
	{
		Form_pg_attribute att;

		if (i >= desc->natts)
			return i + 1;
		att = TupleDescAttr(desc, i);
		if (att->attisdropped || att->atttypid != es_event_columns[i].type)
			return i + 1;
	}
	return 0;
}

/*
 * The event row of a heap tuple of event_store.events (whose descriptor
 * es_event_desc_mismatch accepted).  Columns beyond ours are dropped.
 */
void
es_event_deform(HeapTuple tuple, TupleDesc desc, EsEventRow *row)
{
	Datum	   *values = row->values;
	bool	   *nulls = row->nulls;

	if (desc->natts > Natts_events)
	{
		values = palloc(sizeof(Datum) * desc->natts);
		nulls = palloc(sizeof(bool) * desc->natts);
	}
	heap_deform_tuple(tuple, desc, values, nulls);
	if (values != row->values)
	{
		memcpy(row->values, values, sizeof(row->values));
		memcpy(row->nulls, nulls, sizeof(row->nulls));
		pfree(values);
		pfree(nulls);
	}
}

/* The row of a new event stored at 'version' and 'position' of a stream */
static void
event_row(EsEventRow *row, const EsNewEvent *ev, Datum name, Datum category,
		  int64 version, int64 position, Datum created_at)
{
	memset(row->nulls, 0, sizeof(row->nulls));
	row->values[Anum_events_global_position - 1] = Int64GetDatum(position);
	row->values[Anum_events_stream_name - 1] = name;
	row->values[Anum_events_category - 1] = category;
	row->values[Anum_events_stream_version - 1] = Int64GetDatum(version);
	row->values[Anum_events_event_id - 1] = ev->event_id;
	row->values[Anum_events_event_type - 1] = ev->event_type;
	row->values[Anum_events_data - 1] = ev->data;
	row->nulls[Anum_events_data - 1] = ev->data_null;
	row->values[Anum_events_metadata - 1] = ev->metadata;
	row->nulls[Anum_events_metadata - 1] = ev->metadata_null;
	row->values[Anum_events_causation_id - 1] = ev->causation_id;
	row->nulls[Anum_events_causation_id - 1] = ev->causation_null;
	row->values[Anum_events_correlation_id - 1] = ev->correlation_id;
	row->nulls[Anum_events_correlation_id - 1] = ev->correlation_null;
	row->values[Anum_events_created_at - 1] = created_at;
}

/*
 * The insert statements, prepared once per backend: one row from one
 * parameter per column, or a batch from one array per column (so a batch
 * pays for one executor start, not one per event).
 */
static SPIPlanPtr
prepare_insert(SPIPlanPtr *cache, bool batch)
{
	StringInfoData sql;
	Oid			types[Natts_events];
	int			i;

	if (*cache != NULL)
		return *cache;

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO event_store.events (%s) %s",
					 column_list(false),
					 batch ? "SELECT * FROM ROWS FROM (" : "VALUES (");
	for (i = 0; i < Natts_events; i++)
	{
		Oid			type = es_event_columns[i].type;

		if (batch)
		{
			type = get_array_type(type);
			appendStringInfo(&sql, "%spg_catalog.unnest($%d)", i > 0 ? ", " : "", i + 1);
		}
		else
			appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
		types[i] = type;
	}
	appendStringInfoChar(&sql, ')');

	return es_prepare(cache, sql.data, Natts_events, types);
}

/* rows per table_multi_insert call */
#define ES_MULTI_INSERT_ROWS	1000

/*
 * The hot path: the rows go straight into the heap and their entries into
 * every index through the executor's own index machinery (ExecOpenIndices,
 * ExecInsertIndexTuples: the unique indexes still refuse duplicates, with
 * the same 23505 naming the same constraint), NOT NULL and CHECK
 * constraints are checked by ExecConstraints, and the caller's INSERT
 * privilege by pg_class_aclcheck.  No SPI, no plan, no executor start-up:
 * that was a fifth of a single append.
 *
 * It declines (returns false, and the caller runs the INSERT statement)
 * whenever the statement would do more than that: the table has triggers
 * (a user's, or a foreign key's), row-level security applies to the caller,
 * a column was added to it, it is not a plain table, or the caller's
 * privilege is a column-level one.  So a user trigger on events still fires
 * (on the slower path); nothing is refused.
 */
static bool
insert_direct(const EsNewEvent *events, const int64 *positions, int n, Datum name,
			  Datum category, int64 version, Datum created_at)
{
	Oid			relid = es_catalog()->events;
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot **slots;
	CommandId	cid;
	bool		constraints;
	int			done;
	int			i;

	if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK ||
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;

	rel = table_open(relid, RowExclusiveLock);
	if (rel->trigdesc != NULL || rel->rd_rel->relkind != RELKIND_RELATION ||
		RelationGetDescr(rel)->natts != Natts_events ||
		es_event_desc_mismatch(RelationGetDescr(rel)) != 0)
	{
		table_close(rel, NoLock);
		return false;
	}

	estate = CreateExecutorState();
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 0, NULL, 0);
	ExecOpenIndices(rri, false);
	constraints = RelationGetDescr(rel)->constr != NULL;
	cid = GetCurrentCommandId(true);

	slots = palloc(sizeof(TupleTableSlot *) * Min(n, ES_MULTI_INSERT_ROWS));
	for (i = 0; i < Min(n, ES_MULTI_INSERT_ROWS); i++)
		slots[i] = ExecInitExtraTupleSlot(estate, RelationGetDescr(rel),
										  table_slot_callbacks(rel));

	for (done = 0; done < n;)
	{
		int			chunk = Min(n - done, ES_MULTI_INSERT_ROWS);

		for (i = 0; i < chunk; i++)
		{
			EsEventRow	row;
			TupleTableSlot *slot = slots[i];

			event_row(&row, &events[done + i], name, category, version + done + i + 1,
					  positions[done + i], created_at);
			ExecClearTuple(slot);
			memcpy(slot->tts_values, row.values, sizeof(row.values));
			memcpy(slot->tts_isnull, row.nulls, sizeof(row.nulls));
			ExecStoreVirtualTuple(slot);
			if (constraints)
				ExecConstraints(rri, slot, estate);
		}

		if (chunk == 1)
			table_tuple_insert(rel, slots[0], cid, 0, NULL);
		else
			table_multi_insert(rel, slots, chunk, cid, 0, NULL);

		for (i = 0; i < chunk; i++)
		{
			List	   *recheck;

			ResetPerTupleExprContext(estate);
			recheck = ExecInsertIndexTuples(rri, slots[i], estate, false, false, NULL, NIL);
			list_free(recheck);
		}
		done += chunk;
	}

	ExecCloseIndices(rri);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	table_close(rel, NoLock);

	/* what follows in this transaction sees the rows, as after a statement */
	CommandCounterIncrement();
	return true;
}

/*
 * Insert a batch of n new events into a stream at versions version + 1 ...
 * version + n and the given positions.  Must be called inside an SPI
 * connection; runs with the caller's privileges.  Directly when it can
 * (insert_direct), else by an INSERT statement.
 */
void
es_insert_events(const char *stream, Datum name, Datum category, int64 version,
				 const EsNewEvent *events, const int64 *positions, int n)
{
	Datum		created_at = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	int			ret;

	if (insert_direct(events, positions, n, name, category, version, created_at))
		return;

	if (n == 1)
	{
		EsEventRow	row;
		char		nulls[Natts_events];
		int			c;

		event_row(&row, &events[0], name, category, version + 1, positions[0],
				  created_at);
		for (c = 0; c < Natts_events; c++)
			nulls[c] = row.nulls[c] ? 'n' : ' ';
		ret = SPI_execute_plan(prepare_insert(&insert_plan, false), row.values,
							   nulls, false, 0);
	}
	else
	{
		Datum	   *cols[Natts_events];
		bool	   *isnull[Natts_events];
		Datum		arrays[Natts_events];
		EsEventRow	row;
		int			c;
		int			i;

		for (c = 0; c < Natts_events; c++)
		{
			cols[c] = palloc(sizeof(Datum) * n);
			isnull[c] = palloc(sizeof(bool) * n);
		}
		for (i = 0; i < n; i++)
		{
			event_row(&row, &events[i], name, category, version + i + 1,
					  positions[i], created_at);
			for (c = 0; c < Natts_events; c++)
			{
				cols[c][i] = row.values[c];
				isnull[c][i] = row.nulls[c];
			}
		}
		for (c = 0; c < Natts_events; c++)
			arrays[c] = es_array_of(cols[c], isnull[c], n, es_event_columns[c].type);

		ret = SPI_execute_plan(prepare_insert(&insert_batch_plan, true), arrays,
							   NULL, false, 0);
	}

	if (ret != SPI_OK_INSERT || SPI_processed != (uint64) n)
		elog(ERROR, "could not insert %d events into stream \"%s\"", n, stream);
}
