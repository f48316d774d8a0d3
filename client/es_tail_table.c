/*-------------------------------------------------------------------------
 *
 * es_tail_table.c
 *	  What es_tail reads from event_store.events rather than from its slot.
 *
 * The catch-up.  When the slot is missing (PostgreSQL 15 does not carry
 * logical slots to a standby, so after a failover it always is), es_tail
 * creates it inside a REPEATABLE READ transaction with SNAPSHOT 'use': the
 * transaction then sees exactly the transactions that committed before the
 * slot's consistent point, and the slot decodes exactly those that commit
 * after it.  Reading the table in that snapshot therefore misses nothing
 * and needs no gap check of its own: an event invisible to the snapshot is
 * one the slot will deliver.  es_tail prints every event of the snapshot
 * that its state file does not list, in position order, formatted as the
 * plugin formats it, then streams from the slot.
 *
 * The holes.  A gap in the delivered set below its top is either an event
 * still to come (its transaction had not committed when later ones did), a
 * hole that will never be filled (a rolled-back append, a position the
 * no-gap protocol abandoned), or an event the plugin's filters exclude.
 * event_store.read_all_forward returns only what it has proven complete, so
 * every position it passes over is a hole for good; es_fill_holes asks it
 * about each gap and records what it proves, which lets the low-water mark
 * of the state file move on.
 *
 * Both run on the replication connection (replication=database accepts
 * simple-protocol SQL) while it is not streaming.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * client/es_tail_table.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_tail.h"

#define FETCH_SIZE 1000
#define MAX_GAPS_PER_PASS 10000

typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_add(Buf *b, const char *s)
{
	size_t		n = strlen(s);

	if (b->len + n + 1 > b->cap)
	{
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		if (b->data == NULL)
			es_fatal("out of memory");
	}
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

lsn_t
es_parse_lsn(const char *text)
{
	unsigned	hi,
				lo;

	if (text == NULL || sscanf(text, "%X/%X", &hi, &lo) != 2)
		return 0;
	return ((lsn_t) hi << 32) | lo;
}

static PGresult *
exec_ok(PGconn *conn, const char *sql, ExecStatusType want)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != want)
		es_fail(res, "%s failed: %s", sql, PQerrorMessage(conn));
	return res;
}

static void
exec_command(PGconn *conn, const char *sql)
{
	PQclear(exec_ok(conn, sql, PGRES_COMMAND_OK));
}

bool
es_slot_exists(PGconn *conn, const char *slot)
{
	char	   *lit = PQescapeLiteral(conn, slot, strlen(slot));
	Buf			sql = {0};
	PGresult   *res;
	bool		exists;

	if (lit == NULL)
		es_fatal("could not quote slot name: %s", PQerrorMessage(conn));
	buf_add(&sql, "SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name OPERATOR(pg_catalog.=) ");
	buf_add(&sql, lit);
	PQfreemem(lit);
	res = exec_ok(conn, sql.data, PGRES_TUPLES_OK);
	exists = PQntuples(res) > 0;
	PQclear(res);
	free(sql.data);
	return exists;
}

/* "column = ANY (ARRAY['a','b']::text[])", or nothing for an empty list */
static void
add_any(PGconn *conn, Buf *b, const char *column, char **names, int n)
{
	int			i;

	if (n == 0)
		return;
	buf_add(b, " AND ");
	buf_add(b, column);
	buf_add(b, " OPERATOR(pg_catalog.=) ANY (ARRAY[");
	for (i = 0; i < n; i++)
	{
		char	   *lit = PQescapeLiteral(conn, names[i], strlen(names[i]));

		if (lit == NULL)
			es_fatal("could not quote \"%s\": %s", names[i], PQerrorMessage(conn));
		if (i > 0)
			buf_add(b, ",");
		buf_add(b, lit);
		PQfreemem(lit);
	}
	buf_add(b, "]::pg_catalog.text[])");
}

/* the plugin's filters as a condition on (stream_name, category, event_type) */
static void
add_filters(PGconn *conn, Buf *b, const EsFilters *filters, const char *category)
{
	buf_add(b, "true");
	add_any(conn, b, "stream_name", filters->streams, filters->nstreams);
	add_any(conn, b, category, filters->categories, filters->ncategories);
	add_any(conn, b, "event_type", filters->event_types, filters->nevent_types);
}

/*
 * One event as the plugin prints it (src/decode.c): the same keys in the
 * same order, strings through escape_json (to_json), jsonb in its own text
 * form, created_at in UTC (the session's TimeZone is set to UTC).
 */
static const char *line_json =
"'{\"position\":' || global_position"
" || ',\"stream\":' || to_json(stream_name)::text"
" || ',\"version\":' || stream_version"
" || ',\"id\":' || coalesce(to_json(event_id)::text, 'null')"
" || ',\"type\":' || to_json(event_type)::text"
" || ',\"data\":' || coalesce(data::text, 'null')"
" || ',\"metadata\":' || coalesce(metadata::text, 'null')"
" || ',\"causation_id\":' || coalesce(to_json(causation_id)::text, 'null')"
" || ',\"correlation_id\":' || coalesce(to_json(correlation_id)::text, 'null')"
" || ',\"created_at\":' || coalesce(to_json(created_at)::text, 'null') || '}'";

static const char *line_compact =
"'[' || global_position"
" || ',' || to_json(stream_name)::text"
" || ',' || stream_version"
" || ',' || coalesce(to_json(event_id)::text, 'null')"
" || ',' || to_json(event_type)::text"
" || ',' || coalesce(data::text, 'null')"
" || ',' || coalesce(metadata::text, 'null')"
" || ',' || coalesce(to_json(causation_id)::text, 'null')"
" || ',' || coalesce(to_json(correlation_id)::text, 'null')"
" || ',' || coalesce(to_json(created_at)::text, 'null') || ']'";

/*
 * Create the slot in a snapshot and deliver from the table what the state
 * file does not list.  Returns the slot's consistent point, or 0 when the
 * slot turned out to exist already (someone created it meanwhile).
 */
lsn_t
es_create_slot_and_catch_up(PGconn *conn, const char *slot, EsState *state,
							const EsFilters *filters)
{
	char	   *ident = PQescapeIdentifier(conn, slot, strlen(slot));
	Buf			sql = {0};
	PGresult   *res;
	lsn_t		consistent;
	char		from[32];
	int64_t		delivered = 0;
	int64_t		skipped = 0;

	if (ident == NULL)
		es_fatal("could not quote slot name: %s", PQerrorMessage(conn));
	exec_command(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	buf_add(&sql, "CREATE_REPLICATION_SLOT ");
	buf_add(&sql, ident);
	buf_add(&sql, " LOGICAL event_store (SNAPSHOT 'use')");
	PQfreemem(ident);
	res = PQexec(conn, sql.data);
	free(sql.data);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		/* 42710: duplicate_object, the slot is there already */
		if (sqlstate && strcmp(sqlstate, "42710") == 0)
		{
			PQclear(res);
			exec_command(conn, "ROLLBACK");
			return 0;
		}
		es_fail(res, "could not create slot \"%s\": %s", slot, PQerrorMessage(conn));
	}
	consistent = es_parse_lsn(PQgetvalue(res, 0, 1));
	PQclear(res);
	es_note("created slot \"%s\" at %X/%X; reading what it will not deliver from the table",
			slot, LSN_HI(consistent), LSN_LO(consistent));

	exec_command(conn, "SET LOCAL search_path = pg_catalog, pg_temp");
	exec_command(conn, "SET LOCAL TimeZone = 'UTC'");
	snprintf(from, sizeof(from), "%" PRId64, state->low);
	memset(&sql, 0, sizeof(sql));
	buf_add(&sql, "DECLARE es_tail_catch_up NO SCROLL CURSOR FOR SELECT global_position, ");
	buf_add(&sql, filters->compact ? line_compact : line_json);
	buf_add(&sql, " FROM event_store.events WHERE global_position > ");
	buf_add(&sql, from);
	buf_add(&sql, " AND ");
	add_filters(conn, &sql, filters, "category");
	buf_add(&sql, " ORDER BY global_position");
	exec_command(conn, sql.data);
	free(sql.data);

	for (;;)
	{
		int			n;
		int			i;

		res = exec_ok(conn, "FETCH 1000 FROM es_tail_catch_up", PGRES_TUPLES_OK);
		n = PQntuples(res);
		for (i = 0; i < n; i++)
		{
			int64_t		pos = strtoll(PQgetvalue(res, i, 0), NULL, 10);

			if (es_state_contains(state, pos))
			{
				skipped++;
				continue;
			}
			es_out_line(PQgetvalue(res, i, 1), PQgetlength(res, i, 1));
			es_state_add(state, pos, pos, consistent);
			delivered++;
		}
		PQclear(res);
		if (n < FETCH_SIZE)
			break;
	}
	exec_command(conn, "COMMIT");
	es_note("caught up from the table: %" PRId64 " events delivered, %" PRId64 " already delivered",
			delivered, skipped);
	return consistent;
}

/*
 * Prove what the gaps of the delivered set are: ask the gap-free reader for
 * the events from each gap's start.  Every position it passes over is a
 * permanent hole, and an event the filters exclude will never be delivered;
 * both are recorded as accounted for (settled).  A gap stops at the first
 * event that will still be delivered, or where the reader stops.
 */
void
es_fill_holes(PGconn *conn, EsState *state, const EsFilters *filters)
{
	int64_t		after = state->low;
	int64_t		lo,
				hi;
	int			gaps = 0;
	int64_t		filled = 0;
	Buf			match = {0};

	if (state->path == NULL || state->nranges == 0)
		return;
	add_filters(conn, &match, filters,
				"pg_catalog.split_part(stream_name, '-', 1)");

	while (gaps++ < MAX_GAPS_PER_PASS && es_state_next_gap(state, after, &lo, &hi))
	{
		int64_t		start = lo;
		bool		done = false;

		while (!done)
		{
			char		num[64];
			Buf			q = {0};
			PGresult   *res;
			int			n;
			int			i;
			int64_t		last = start - 1;

			snprintf(num, sizeof(num), "%" PRId64 ", %d)", start, FETCH_SIZE);
			buf_add(&q, "SELECT global_position, (");
			buf_add(&q, match.data);
			buf_add(&q, ") FROM event_store.read_all_forward(");
			buf_add(&q, num);
			res = PQexec(conn, q.data);
			free(q.data);
			if (PQresultStatus(res) != PGRES_TUPLES_OK)
			{
				es_warn("could not check the gaps of the state file (it keeps growing until this works): %s",
						PQerrorMessage(conn));
				PQclear(res);
				free(match.data);
				return;
			}
			n = PQntuples(res);
			done = true;
			for (i = 0; i < n; i++)
			{
				int64_t		pos = strtoll(PQgetvalue(res, i, 0), NULL, 10);
				bool		matches = PQgetvalue(res, i, 1)[0] == 't';

				if (pos > hi)
				{
					last = hi;
					break;
				}
				if (matches)
				{
					/* an event still to be delivered: the gap ends here */
					break;
				}
				last = pos;
				if (i == n - 1 && n == FETCH_SIZE)
					done = false;
			}
			PQclear(res);
			if (last >= start)
			{
				es_state_add(state, start, last, 0);
				filled += last - start + 1;
			}
			start = last + 1;
			if (start > hi)
				done = true;
		}
		after = hi;
	}
	free(match.data);
	if (filled > 0)
		es_note("state: %" PRId64 " positions proven holes or filtered out; %" PRId64 " and below done, %d runs above",
				filled, state->low, state->nranges);
}
