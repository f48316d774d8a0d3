/*-------------------------------------------------------------------------
 *
 * events.h
 *	  The event row: what the C code knows of event_store.events and of its
 *	  projection event_store.recorded_event.  events.c owns it; adding a
 *	  column means editing events.c, this file and the SQL, nothing else.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/events.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENT_STORE_EVENTS_H
#define EVENT_STORE_EVENTS_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "utils/tuplestore.h"

/*
 * Column numbers of event_store.events (1-based, as in the table).  Other
 * files use them for the columns they look at by meaning (a position, a
 * name, a filter); only events.c walks the whole row.
 */
#define Anum_events_global_position	1
#define Anum_events_stream_name		2
#define Anum_events_category		3
#define Anum_events_stream_version	4
#define Anum_events_event_id		5
#define Anum_events_event_type		6
#define Anum_events_data			7
#define Anum_events_metadata		8
#define Anum_events_causation_id	9
#define Anum_events_correlation_id	10
#define Anum_events_created_at		11
#define Natts_events				11
#define Natts_recorded_event		10	/* the columns with a key, below */

/* One column of event_store.events */
typedef struct EsEventColumn
{
	const char *name;			/* as in the table */
	Oid			type;			/* its type, which the decoder checks */
	const char *key;			/* its key in the decoder's JSON, NULL when
								 * not in recorded_event */
} EsEventColumn;

/* The columns, in table order: es_event_columns[attnum - 1] */
extern const EsEventColumn es_event_columns[Natts_events];

/* One row of event_store.events, in table order */
typedef struct EsEventRow
{
	Datum		values[Natts_events];
	bool		nulls[Natts_events];
} EsEventRow;

/* One event to append, as the caller gave it (event_store.new_event) */
typedef struct EsNewEvent
{
	Datum		event_id;		/* uuid, made by the store when none given */
	bool		id_given;
	Datum		event_type;
	Datum		data;
	bool		data_null;
	Datum		metadata;
	bool		metadata_null;
	Datum		causation_id;
	bool		causation_null;
	Datum		correlation_id;
	bool		correlation_null;
} EsNewEvent;

extern const char *es_recorded_event_columns(void);
extern void es_recorded_event_values(const Datum *values, const bool *nulls,
									 Datum *out_values, bool *out_nulls);
extern void es_put_recorded_event(Tuplestorestate *store, TupleDesc desc,
								  const Datum *values, const bool *nulls);
extern void es_put_stored_event(Tuplestorestate *store, TupleDesc desc, TupleDesc table,
								HeapTuple tuple);
extern int	es_event_desc_mismatch(TupleDesc desc);
extern void es_check_recorded_desc(TupleDesc desc);
extern void es_event_deform(HeapTuple tuple, TupleDesc desc, EsEventRow *row);
extern void es_insert_events(const char *stream, Datum name, Datum category,
							 int64 version, const EsNewEvent *events,
							 const int64 *positions, int n);

#endif							/* EVENT_STORE_EVENTS_H */
