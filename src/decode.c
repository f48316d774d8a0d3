/*-------------------------------------------------------------------------
 *
 * decode.c
 *	  The logical-decoding output plugin of event_store: every event appended
 *	  to event_store.events, in commit order, as one single-line JSON message.
 *
 * The plugin lives in event_store.so, so
 *	  pg_create_logical_replication_slot('s', 'event_store')
 * works with nothing else installed and without shared_preload_libraries.
 * It looks only at inserts into event_store.events: the bookkeeping of
 * streams, snapshots and subscriptions, other tables, updates and deletes
 * (scavenge) are skipped, and rolled-back appends never reach an output
 * plugin at all.  Each event is written as soon as the reorder buffer hands
 * it over, from a memory context that is reset after every change, so a
 * transaction of any size decodes in constant memory.
 *
 * Options (all optional; docs/streaming.md):
 *	  streams				 comma-separated stream names to emit (default: all)
 *	  categories			 comma-separated categories to emit (default: all)
 *	  event-types			 comma-separated event types to emit (default: all)
 *	  include-transactions	 begin/commit markers (default: off); wal2json's
 *							 spelling include-transaction is accepted too
 *	  format				 "json" (default) or "compact"
 *	  format-version		 wal2json's; only 2 (one document per change,
 *							 which both formats are), and it changes nothing
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/decode.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "nodes/pg_list.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "replication/reorderbuffer.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/uuid.h"

#include "event_store.h"
#include "events.h"

/* How many skipped changes between progress reports (as pgoutput does) */
#define ES_PROGRESS_EVERY	100

typedef enum EsDecodeFormat
{
	ES_FORMAT_JSON,				/* {"position":1,"stream":"a-1",...} */
	ES_FORMAT_COMPACT			/* [1,"a-1",...]: the same values, no keys */
} EsDecodeFormat;

/* One comma-separated filter option: the values, unsorted */
typedef struct EsFilter
{
	int			count;			/* 0: no filter, everything passes */
	char	  **values;
	int		   *lengths;
} EsFilter;

typedef struct EsDecodingData
{
	MemoryContext context;		/* reset after every change */
	EsFilter	streams;
	EsFilter	categories;
	EsFilter	event_types;
	bool		include_transactions;
	EsDecodeFormat format;
	bool		access_checked; /* es_check_decode_access passed */

	/* the transaction being decoded (no streaming: one at a time) */
	bool		xact_wrote_begin;
	int64		xact_events;
	int			skipped_changes;
} EsDecodingData;

/*
 * Is a relation event_store.events?  Answered once per relation OID and
 * kept for the backend's life, dropped by a relcache invalidation of that
 * relation (DROP/CREATE EXTENSION gives the table a new OID), so decoding
 * an event costs one hash probe, never a catalog lookup.
 */
typedef struct EsRelEntry
{
	Oid			relid;			/* hash key */
	bool		is_events;
} EsRelEntry;

static HTAB *rel_cache = NULL;

void		_PG_output_plugin_init(OutputPluginCallbacks *cb);

static void es_decode_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
							  bool is_init);
static void es_decode_shutdown(LogicalDecodingContext *ctx);
static void es_decode_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn);
static void es_decode_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
							 XLogRecPtr commit_lsn);
static void es_decode_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
							 Relation relation, ReorderBufferChange *change);

static void es_parse_filter(DefElem *elem, EsFilter *filter);
static bool es_parse_bool(DefElem *elem);
static EsDecodeFormat es_parse_format(DefElem *elem);
static void es_check_format_version(DefElem *elem);
static bool es_filter_match(const EsFilter *filter, Datum value);
static bool es_is_events_relation(Relation relation);
static void es_rel_cache_callback(Datum arg, Oid relid);
static void es_skipped_change(LogicalDecodingContext *ctx, EsDecodingData *data);
static void es_write_marker(LogicalDecodingContext *ctx, EsDecodingData *data,
							ReorderBufferTXN *txn, const char *action);
static bool es_event_selected(EsDecodingData *data, const EsEventRow *row);
static void es_write_event(LogicalDecodingContext *ctx, EsDecodingData *data,
						   ReorderBufferTXN *txn, const EsEventRow *row);
static void es_append_value(StringInfo out, Oid type, Datum value);
static void es_append_text(StringInfo out, Datum value);
static void es_append_uuid(StringInfo out, Datum value);
static void es_append_jsonb(StringInfo out, Datum value);
static void es_append_timestamptz(StringInfo out, Datum value);

/* Specify output plugin callbacks */
void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	/*
	 * No streaming and no two-phase callbacks: events are emitted at commit,
	 * in commit order, which is what subscribers rely on.
	 */
	cb->startup_cb = es_decode_startup;
	cb->begin_cb = es_decode_begin;
	cb->change_cb = es_decode_change;
	cb->commit_cb = es_decode_commit;
	cb->shutdown_cb = es_decode_shutdown;
}

/*
 * Parse the options once, when the decoding context is created.
 */
static void
es_decode_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
				  bool is_init)
{
	EsDecodingData *data;
	ListCell   *option;

	data = palloc0(sizeof(EsDecodingData));
	data->context = AllocSetContextCreate(ctx->context,
										  "event_store decoding context",
										  ALLOCSET_DEFAULT_SIZES);
	data->format = ES_FORMAT_JSON;
	data->include_transactions = false;

	ctx->output_plugin_private = data;
	opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
	opt->receive_rewrites = false;

	foreach(option, ctx->output_plugin_options)
	{
		DefElem    *elem = lfirst(option);

		Assert(elem->arg == NULL || IsA(elem->arg, String));

		if (strcmp(elem->defname, "streams") == 0)
			es_parse_filter(elem, &data->streams);
		else if (strcmp(elem->defname, "categories") == 0)
			es_parse_filter(elem, &data->categories);
		else if (strcmp(elem->defname, "event-types") == 0)
			es_parse_filter(elem, &data->event_types);
		else if (strcmp(elem->defname, "include-transactions") == 0 ||
				 strcmp(elem->defname, "include-transaction") == 0)
			data->include_transactions = es_parse_bool(elem);
		else if (strcmp(elem->defname, "format") == 0)
			data->format = es_parse_format(elem);
		else if (strcmp(elem->defname, "format-version") == 0)
			es_check_format_version(elem);
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" = \"%s\" is unknown",
							elem->defname,
							elem->arg ? strVal(elem->arg) : "(null)"),
					 errhint("The options of event_store are \"streams\", \"categories\", "
							 "\"event-types\", \"include-transactions\" (or \"include-transaction\") "
							 "and \"format\" (or \"format-version\").")));
	}
	/*
	 * Decoding respects grants, as the catalog says now (at a change, the
	 * catalog is the historic one of the WAL being decoded: a grant made
	 * since would not count).  A SQL function is inside a transaction; a
	 * walsender gets one of its own for the look-up.
	 */
	if (!is_init)
	{
		if (IsTransactionState())
			es_check_decode_access_by_name();
		else
		{
			MemoryContext cxt = CurrentMemoryContext;
			ResourceOwner owner = CurrentResourceOwner;

			StartTransactionCommand();
			es_check_decode_access_by_name();
			CommitTransactionCommand();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		data->access_checked = true;
	}
}

static void
es_decode_shutdown(LogicalDecodingContext *ctx)
{
	EsDecodingData *data = ctx->output_plugin_private;

	/* everything else lives in ctx->context and goes with it */
	MemoryContextDelete(data->context);
}

/* format: "json" or "compact" */
static EsDecodeFormat
es_parse_format(DefElem *elem)
{
	const char *value = elem->arg ? strVal(elem->arg) : "";

	if (strcmp(value, "json") == 0)
		return ES_FORMAT_JSON;
	if (strcmp(value, "compact") == 0)
		return ES_FORMAT_COMPACT;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("could not parse value \"%s\" for parameter \"%s\"",
					value, elem->defname),
			 errhint("Valid formats are \"json\" and \"compact\".")));
	return ES_FORMAT_JSON;		/* keep compiler quiet */
}

/*
 * format-version, as wal2json users write it.  2 means one JSON document
 * per change, which is what both formats here write (one per event, with
 * event_store's keys, not wal2json's), so it is accepted and changes
 * nothing.  wal2json's 1, a whole transaction as one document, has no
 * counterpart here.
 */
static void
es_check_format_version(DefElem *elem)
{
	const char *value = elem->arg ? strVal(elem->arg) : "";

	if (strcmp(value, "2") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not parse value \"%s\" for parameter \"%s\"",
						value, elem->defname),
				 errdetail("event_store writes one JSON document per event, as wal2json's format-version 2 does per change."),
				 errhint("Use format-version 2, or leave it out; choose between \"json\" and \"compact\" with the option \"format\".")));
}

/*
 * A boolean option: a missing value means true, as in test_decoding
 * (pg_recvlogical -o include-transactions).
 */
static bool
es_parse_bool(DefElem *elem)
{
	bool		result;

	if (elem->arg == NULL)
		return true;
	if (!parse_bool(strVal(elem->arg), &result))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not parse value \"%s\" for parameter \"%s\"",
						strVal(elem->arg), elem->defname)));
	return result;
}

/*
 * A filter is a comma-separated list of names.  Blanks around a name are
 * dropped; a backslash takes the next character literally, so "a\,b" is
 * the single name "a,b" and "\ a" keeps its leading blank.  An empty list or
 * an empty name is refused rather than silently matching nothing.
 */
static void
es_parse_filter(DefElem *elem, EsFilter *filter)
{
	const char *value = elem->arg ? strVal(elem->arg) : "";
	const char *p = value;
	StringInfoData item;
	List	   *items = NIL;
	ListCell   *lc;
	int			i;

	initStringInfo(&item);
	for (;;)
	{
		int			keep = 0;	/* length up to the last non-blank or escaped char */

		resetStringInfo(&item);
		while (*p == ' ' || *p == '\t')
			p++;
		while (*p != '\0' && *p != ',')
		{
			if (*p == '\\' && p[1] != '\0')
			{
				appendStringInfoChar(&item, p[1]);
				p += 2;
				keep = item.len;
				continue;
			}
			appendStringInfoChar(&item, *p);
			if (*p != ' ' && *p != '\t')
				keep = item.len;
			p++;
		}
		if (keep == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("could not parse value \"%s\" for parameter \"%s\"",
							value, elem->defname),
					 errdetail("The list is empty or has an empty name.")));
		items = lappend(items, pnstrdup(item.data, keep));
		if (*p == '\0')
			break;
		p++;					/* the comma */
	}

	/* a repeated option replaces the earlier one */
	filter->count = list_length(items);
	filter->values = palloc(sizeof(char *) * filter->count);
	filter->lengths = palloc(sizeof(int) * filter->count);
	i = 0;
	foreach(lc, items)
	{
		filter->values[i] = lfirst(lc);
		filter->lengths[i] = strlen(filter->values[i]);
		i++;
	}
	list_free(items);
	pfree(item.data);
}

/* Does a text datum pass a filter?  No copy: compare the bytes in place. */
static bool
es_filter_match(const EsFilter *filter, Datum value)
{
	text	   *t;
	const char *s;
	int			len;
	int			i;

	if (filter->count == 0)
		return true;

	t = (text *) PG_DETOAST_DATUM_PACKED(value);
	s = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);
	for (i = 0; i < filter->count; i++)
	{
		if (filter->lengths[i] == len && memcmp(filter->values[i], s, len) == 0)
			return true;
	}
	return false;
}

static void
es_rel_cache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	EsRelEntry *entry;

	if (rel_cache == NULL)
		return;
	if (OidIsValid(relid))
	{
		hash_search(rel_cache, &relid, HASH_REMOVE, NULL);
		return;
	}
	/* a full reset: forget everything */
	hash_seq_init(&status, rel_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(rel_cache, &entry->relid, HASH_REMOVE, NULL);
}

/*
 * Is this event_store.events?  The first time a relation is seen, compare
 * its name and its schema's name (and check that the columns are the ones
 * this code reads); afterwards, one hash probe.
 */
static bool
es_is_events_relation(Relation relation)
{
	Oid			relid = RelationGetRelid(relation);
	EsRelEntry *entry;
	bool		found;

	if (rel_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(EsRelEntry);
		ctl.hcxt = CacheMemoryContext;
		rel_cache = hash_create("event_store decoding relations", 32, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		/* registered once per backend; callbacks cannot be removed */
		CacheRegisterRelcacheCallback(es_rel_cache_callback, (Datum) 0);
	}

	entry = hash_search(rel_cache, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->is_events;

	{
		bool		is_events = false;

		if (strcmp(RelationGetRelationName(relation), "events") == 0)
		{
			char	   *nspname = get_namespace_name(RelationGetNamespace(relation));

			is_events = nspname != NULL && strcmp(nspname, "event_store") == 0;
		}

		if (is_events)
		{
			int			bad = es_event_desc_mismatch(RelationGetDescr(relation));

			if (bad != 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("table \"event_store.events\" does not have the columns the output plugin reads"),
						 errdetail("Column %d is missing or has an unexpected type.", bad),
						 errhint("Decode with the version of event_store that wrote the events.")));
		}

		entry = hash_search(rel_cache, &relid, HASH_ENTER, &found);
		entry->is_events = is_events;
		return is_events;
	}
}

/*
 * A change we do not emit.  PostgreSQL 15 needs output plugins to report
 * progress now and then while they skip, or a walsender busy with a large
 * transaction of other tables looks idle to wal_sender_timeout (pgoutput
 * does the same).
 */
static void
es_skipped_change(LogicalDecodingContext *ctx, EsDecodingData *data)
{
#if PG_VERSION_NUM >= 150000 && PG_VERSION_NUM < 160000
	if (++data->skipped_changes >= ES_PROGRESS_EVERY)
	{
		data->skipped_changes = 0;
		OutputPluginUpdateProgress(ctx, false);
	}
#endif
}

static void
es_decode_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	EsDecodingData *data = ctx->output_plugin_private;

	/* the begin marker waits for the first event: no empty transactions */
	data->xact_wrote_begin = false;
	data->xact_events = 0;
	data->skipped_changes = 0;
}

static void
es_decode_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				 XLogRecPtr commit_lsn)
{
	EsDecodingData *data = ctx->output_plugin_private;

	if (data->include_transactions && data->xact_wrote_begin)
		es_write_marker(ctx, data, txn, "commit");
#if PG_VERSION_NUM >= 150000 && PG_VERSION_NUM < 160000
	else
		OutputPluginUpdateProgress(ctx, data->xact_events == 0);
#endif
}

/*
 * {"action":"begin","xid":740,"commit_lsn":"0/1A2B3C4","commit_time":"..."}
 * {"action":"commit",...,"events":3}
 *
 * Both markers carry the commit's LSN and time: decoding happens at commit,
 * so they are known when the transaction begins to be emitted.
 */
static void
es_write_marker(LogicalDecodingContext *ctx, EsDecodingData *data,
				ReorderBufferTXN *txn, const char *action)
{
	StringInfo	out = ctx->out;
	bool		commit = (action[0] == 'c');
	char		lsn[32];
	TimestampTz commit_time;

	commit_time = txn->xact_time.commit_time;
	snprintf(lsn, sizeof(lsn), "%X/%X", LSN_FORMAT_ARGS(txn->final_lsn));

	OutputPluginPrepareWrite(ctx, true);
	if (data->format == ES_FORMAT_COMPACT)
	{
		appendStringInfo(out, "[\"%s\",%u,\"%s\",", action, txn->xid, lsn);
		es_append_timestamptz(out, TimestampTzGetDatum(commit_time));
		if (commit)
			appendStringInfo(out, "," INT64_FORMAT, data->xact_events);
		appendStringInfoChar(out, ']');
	}
	else
	{
		appendStringInfo(out, "{\"action\":\"%s\",\"xid\":%u,\"commit_lsn\":\"%s\",\"commit_time\":",
						 action, txn->xid, lsn);
		es_append_timestamptz(out, TimestampTzGetDatum(commit_time));
		if (commit)
			appendStringInfo(out, ",\"events\":" INT64_FORMAT, data->xact_events);
		appendStringInfoChar(out, '}');
	}
	OutputPluginWrite(ctx, true);
}

/*
 * Each insert into event_store.events that passes the filters is one line;
 * everything else is skipped.
 */
static void
es_decode_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				 Relation relation, ReorderBufferChange *change)
{
	EsDecodingData *data = ctx->output_plugin_private;
	MemoryContext old;
	HeapTuple	tuple;
	EsEventRow	row;
	bool		selected;

	/* events are only ever inserted; scavenge's deletes are not events */
	if (change->action != REORDER_BUFFER_CHANGE_INSERT ||
		change->data.tp.newtuple == NULL ||
		!es_is_events_relation(relation))
	{
		es_skipped_change(ctx, data);
		return;
	}

	/* nothing is emitted before the role is known to be allowed */
	if (!data->access_checked)
	{
		es_check_decode_access(RelationGetRelid(relation));
		data->access_checked = true;
	}

	old = MemoryContextSwitchTo(data->context);

#if PG_VERSION_NUM >= 170000
	tuple = change->data.tp.newtuple;
#else
	tuple = &change->data.tp.newtuple->tuple;
#endif
	es_event_deform(tuple, RelationGetDescr(relation), &row);

	selected = es_event_selected(data, &row);
	if (selected)
		es_write_event(ctx, data, txn, &row);

	MemoryContextSwitchTo(old);
	MemoryContextReset(data->context);
	if (!selected)
		es_skipped_change(ctx, data);
}

/* Does an event pass the streams, categories and event-types filters? */
static bool
es_event_selected(EsDecodingData *data, const EsEventRow *row)
{
	return !row->nulls[Anum_events_stream_name - 1] &&
		!row->nulls[Anum_events_category - 1] &&
		!row->nulls[Anum_events_event_type - 1] &&
		es_filter_match(&data->streams, row->values[Anum_events_stream_name - 1]) &&
		es_filter_match(&data->categories, row->values[Anum_events_category - 1]) &&
		es_filter_match(&data->event_types, row->values[Anum_events_event_type - 1]);
}

/*
 * One event as one line: the recorded_event columns (events.c) as a JSON
 * object under their keys, or as an array of their values (compact),
 * preceded by the transaction's begin marker if it is the first.
 */
static void
es_write_event(LogicalDecodingContext *ctx, EsDecodingData *data,
			   ReorderBufferTXN *txn, const EsEventRow *row)
{
	StringInfo	out = ctx->out;
	bool		json = (data->format == ES_FORMAT_JSON);
	bool		first = true;
	int			i;

	if (data->include_transactions && !data->xact_wrote_begin)
		es_write_marker(ctx, data, txn, "begin");
	data->xact_wrote_begin = true;
	data->xact_events++;

	OutputPluginPrepareWrite(ctx, true);
	for (i = 0; i < Natts_events; i++)
	{
		const EsEventColumn *column = &es_event_columns[i];

		if (column->key == NULL)
			continue;
		appendStringInfoChar(out, first ? (json ? '{' : '[') : ',');
		first = false;
		if (json)
		{
			appendStringInfoChar(out, '"');
			appendStringInfoString(out, column->key);
			appendBinaryStringInfo(out, "\":", 2);
		}
		if (row->nulls[i])
			appendStringInfoString(out, "null");
		else
			es_append_value(out, column->type, row->values[i]);
	}
	appendStringInfoChar(out, json ? '}' : ']');
	OutputPluginWrite(ctx, true);
}

/* A value of one of the column types of event_store.events, as JSON */
static void
es_append_value(StringInfo out, Oid type, Datum value)
{
	switch (type)
	{
		case INT8OID:
			appendStringInfo(out, INT64_FORMAT, DatumGetInt64(value));
			break;
		case TEXTOID:
			es_append_text(out, value);
			break;
		case UUIDOID:
			es_append_uuid(out, value);
			break;
		case JSONBOID:
			es_append_jsonb(out, value);
			break;
		case TIMESTAMPTZOID:
			es_append_timestamptz(out, value);
			break;
		default:
			elog(ERROR, "event_store output plugin cannot write type %u", type);
	}
}

/* A text value as a JSON string, escaped by PostgreSQL's escape_json */
static void
es_append_text(StringInfo out, Datum value)
{
	escape_json(out, TextDatumGetCString(value));
}

/* A uuid as a JSON string in its canonical form */
static void
es_append_uuid(StringInfo out, Datum value)
{
	static const char hex[] = "0123456789abcdef";
	const pg_uuid_t *uuid = DatumGetUUIDP(value);
	char		buf[2 + 36];
	char	   *p = buf;
	int			i;

	*p++ = '"';
	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[uuid->data[i] >> 4];
		*p++ = hex[uuid->data[i] & 0x0F];
	}
	*p++ = '"';
	appendBinaryStringInfo(out, buf, p - buf);
}

/* A jsonb value embedded as JSON (jsonb's text form has no newlines) */
static void
es_append_jsonb(StringInfo out, Datum value)
{
	Jsonb	   *jb = DatumGetJsonbP(value);

	JsonbToCString(out, &jb->root, VARSIZE(jb));
}

/*
 * A timestamptz as an ISO 8601 JSON string in UTC, whatever the decoding
 * session's TimeZone: "2026-03-01T12:00:00.123456+00:00".
 */
static void
es_append_timestamptz(StringInfo out, Datum value)
{
	char		buf[MAXDATELEN + 1];
	const int	utc = 0;

	appendStringInfoChar(out, '"');
	appendStringInfoString(out, JsonEncodeDateTime(buf, value, TIMESTAMPTZOID, &utc));
	appendStringInfoChar(out, '"');
}
