/*-------------------------------------------------------------------------
 *
 * pg_port.c
 *	  One libpq connection behind an Erlang port (commanded_pg_event_store).
 *
 * The BEAM starts one of these per connection with {packet, 4}: every frame
 * in either direction is a 4-byte big-endian length followed by that many
 * bytes.  Integers below are big-endian; "str" is a u32 length then bytes.
 * The program exits as soon as its stdin reaches EOF (the owning Elixir
 * process died or closed the port), so it never outlives its owner, and
 * after any frame that reports a lost connection.
 *
 * Requests (Elixir -> port), first byte is the operation:
 *	 'C' str conninfo		connect (first frame only); answered by 'K' or 'E'
 *	 'Q' str name, str sql, u16 nparams, then per parameter
 *		 u32 type oid (0 = let the server infer), i32 length (-1 = NULL), bytes
 *							execute with text parameters; a non-empty name
 *							prepares the statement once under that name and
 *							reuses it; answered by 'R' or 'E'
 *	 'X'					cancel the running query (PQcancel); no answer of
 *							its own, the query then fails with 57014
 *
 * Replies and events (port -> Elixir):
 *	 'K' u32 server_version	connected
 *	 'R' u32 ncols, ncols x u32 type oid, u32 nrows, nrows x ncols x
 *		 (i32 length, -1 = NULL, then bytes in text format), str command tag
 *	 'E' 5 bytes sqlstate, str message, str detail, str hint, u8 fatal
 *							an error; fatal = 1 when the connection is gone
 *							(the port exits right after it)
 *	 'N' u32 backend pid, str channel, str payload
 *							a LISTEN notification, at any time
 *
 * NOTICE messages are swallowed; ParameterStatus is handled by libpq.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;

typedef struct Reader
{
	const char *p;
	const char *end;
	int			ok;
} Reader;

static PGconn *conn = NULL;
static PGcancel *cancel_obj = NULL;
static char **prepared = NULL;
static int	nprepared = 0;

/* ---- output ---- */

static void
buf_reserve(Buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	while (b->len + extra > b->cap)
		b->cap = b->cap ? b->cap * 2 : 4096;
	b->data = realloc(b->data, b->cap);
	if (b->data == NULL)
	{
		fprintf(stderr, "pg_port: out of memory\n");
		exit(3);
	}
}

static void
buf_put(Buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
buf_u8(Buf *b, uint8_t v)
{
	buf_put(b, &v, 1);
}

static void
buf_u32(Buf *b, uint32_t v)
{
	unsigned char c[4];

	c[0] = v >> 24;
	c[1] = v >> 16;
	c[2] = v >> 8;
	c[3] = v;
	buf_put(b, c, 4);
}

static void
buf_str(Buf *b, const char *s)
{
	size_t		n = s ? strlen(s) : 0;

	buf_u32(b, (uint32_t) n);
	if (n)
		buf_put(b, s, n);
}

static void
write_all(const char *p, size_t n)
{
	while (n > 0)
	{
		ssize_t		w = write(STDOUT_FILENO, p, n);

		if (w < 0)
		{
			if (errno == EINTR)
				continue;
			exit(0);			/* the owner is gone */
		}
		p += w;
		n -= (size_t) w;
	}
}

/* Send b as one frame; the first 4 bytes of b are reserved for the length. */
static void
send_frame(Buf *b)
{
	uint32_t	n = (uint32_t) (b->len - 4);

	b->data[0] = n >> 24;
	b->data[1] = n >> 16;
	b->data[2] = n >> 8;
	b->data[3] = n;
	write_all(b->data, b->len);
	b->len = 0;
}

static void
frame_start(Buf *b, char op)
{
	b->len = 0;
	buf_reserve(b, 5);
	b->len = 4;
	buf_u8(b, (uint8_t) op);
}

/* ---- input ---- */

static int
read_all(char *p, size_t n)
{
	while (n > 0)
	{
		ssize_t		r = read(STDIN_FILENO, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		p += r;
		n -= (size_t) r;
	}
	return 1;
}

/* Read one frame into *out (malloc'd); exits on EOF. */
static size_t
read_frame(char **out)
{
	unsigned char h[4];
	uint32_t	n;

	if (!read_all((char *) h, 4))
		exit(0);
	n = ((uint32_t) h[0] << 24) | ((uint32_t) h[1] << 16) |
		((uint32_t) h[2] << 8) | h[3];
	*out = malloc(n + 1);
	if (*out == NULL || !read_all(*out, n))
		exit(0);
	(*out)[n] = '\0';
	return n;
}

static uint32_t
rd_u32(Reader *r)
{
	const unsigned char *p = (const unsigned char *) r->p;

	if (!r->ok || r->end - r->p < 4)
	{
		r->ok = 0;
		return 0;
	}
	r->p += 4;
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | p[3];
}

static uint16_t
rd_u16(Reader *r)
{
	const unsigned char *p = (const unsigned char *) r->p;

	if (!r->ok || r->end - r->p < 2)
	{
		r->ok = 0;
		return 0;
	}
	r->p += 2;
	return (uint16_t) ((p[0] << 8) | p[1]);
}

/* A length-prefixed string, copied and NUL-terminated (NULL for length -1). */
static char *
rd_bytes(Reader *r, int allow_null)
{
	uint32_t	n = rd_u32(r);
	char	   *s;

	if (!r->ok)
		return NULL;
	if (n == 0xFFFFFFFFu && allow_null)
		return NULL;
	if ((size_t) (r->end - r->p) < n)
	{
		r->ok = 0;
		return NULL;
	}
	s = malloc((size_t) n + 1);
	if (s == NULL)
		exit(3);
	memcpy(s, r->p, n);
	s[n] = '\0';
	r->p += n;
	return s;
}

/* ---- replies ---- */

static void
send_error(const char *sqlstate, const char *msg, const char *detail,
		   const char *hint, int fatal)
{
	Buf			b = {0};
	char		state[5] = {'X', 'X', '0', '0', '0'};

	if (sqlstate && strlen(sqlstate) == 5)
		memcpy(state, sqlstate, 5);
	frame_start(&b, 'E');
	buf_put(&b, state, 5);
	buf_str(&b, msg);
	buf_str(&b, detail);
	buf_str(&b, hint);
	buf_u8(&b, fatal ? 1 : 0);
	send_frame(&b);
	free(b.data);
}

static int
connection_lost(void)
{
	return PQstatus(conn) == CONNECTION_BAD;
}

static void
send_result_error(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	int			fatal = connection_lost();

	if (msg == NULL)
		msg = PQerrorMessage(conn);
	if (state == NULL)
		state = fatal ? "08006" : "XX000";
	send_error(state, msg,
			   PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL),
			   PQresultErrorField(res, PG_DIAG_MESSAGE_HINT), fatal);
	if (fatal)
		exit(2);
}

static void
send_lost(void)
{
	send_error("08006", PQerrorMessage(conn), NULL, NULL, 1);
	exit(2);
}

static void
send_rows(const PGresult *res)
{
	Buf			b = {0};
	int			ncols = PQnfields(res);
	int			nrows = PQntuples(res);

	frame_start(&b, 'R');
	buf_u32(&b, (uint32_t) ncols);
	for (int c = 0; c < ncols; c++)
		buf_u32(&b, (uint32_t) PQftype(res, c));
	buf_u32(&b, (uint32_t) nrows);
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols; c++)
		{
			if (PQgetisnull(res, r, c))
				buf_u32(&b, 0xFFFFFFFFu);
			else
			{
				int			n = PQgetlength(res, r, c);

				buf_u32(&b, (uint32_t) n);
				buf_put(&b, PQgetvalue(res, r, c), (size_t) n);
			}
		}
	buf_str(&b, PQcmdStatus((PGresult *) res));
	send_frame(&b);
	free(b.data);
}

static void
send_notifications(void)
{
	PGnotify   *n;

	while ((n = PQnotifies(conn)) != NULL)
	{
		Buf			b = {0};

		frame_start(&b, 'N');
		buf_u32(&b, (uint32_t) n->be_pid);
		buf_str(&b, n->relname);
		buf_str(&b, n->extra);
		send_frame(&b);
		free(b.data);
		PQfreemem(n);
	}
}

static void
ignore_notice(void *arg, const PGresult *res)
{
	(void) arg;
	(void) res;
}

/* ---- the event loop ---- */

static void handle_frame(char *frame, size_t len, int busy);

/*
 * Wait until the connection has input or the owner sends a frame.  Frames
 * that arrive meanwhile are handled (busy = 1: only 'X' is allowed).
 */
static void
wait_io(int busy)
{
	struct pollfd fds[2];

	fds[0].fd = STDIN_FILENO;
	fds[0].events = POLLIN;
	fds[1].fd = PQsocket(conn);
	fds[1].events = POLLIN;
	fds[0].revents = fds[1].revents = 0;
	if (poll(fds, 2, -1) < 0)
	{
		if (errno == EINTR)
			return;
		exit(3);
	}
	if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
	{
		char	   *frame;
		size_t		len = read_frame(&frame);

		handle_frame(frame, len, busy);
		free(frame);
	}
	if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
	{
		if (!PQconsumeInput(conn))
			send_lost();
		send_notifications();
	}
}

/* Wait for the sent command's results; return the last one (caller frees). */
static PGresult *
collect_results(void)
{
	PGresult   *last = NULL;
	PGresult   *res;

	for (;;)
	{
		while (PQisBusy(conn))
			wait_io(1);
		res = PQgetResult(conn);
		if (res == NULL)
			break;
		/* keep the first error, else the last result */
		if (last && PQresultStatus(last) == PGRES_FATAL_ERROR)
			PQclear(res);
		else
		{
			if (last)
				PQclear(last);
			last = res;
		}
	}
	send_notifications();
	return last;
}

static void
reply_result(PGresult *res)
{
	if (res == NULL)
	{
		if (connection_lost())
			send_lost();
		send_error("XX000", "no result", NULL, NULL, 0);
		return;
	}
	switch (PQresultStatus(res))
	{
		case PGRES_TUPLES_OK:
		case PGRES_COMMAND_OK:
		case PGRES_EMPTY_QUERY:
			send_rows(res);
			break;
		default:
			send_result_error(res);
			break;
	}
	PQclear(res);
}

static int
is_prepared(const char *name)
{
	for (int i = 0; i < nprepared; i++)
		if (strcmp(prepared[i], name) == 0)
			return 1;
	return 0;
}

static void
run_query(Reader *r)
{
	char	   *name = rd_bytes(r, 0);
	char	   *sql = rd_bytes(r, 0);
	int			nparams = r->ok ? rd_u16(r) : 0;
	Oid		   *types = calloc((size_t) nparams + 1, sizeof(Oid));
	char	  **values = calloc((size_t) nparams + 1, sizeof(char *));
	int		   *lengths = calloc((size_t) nparams + 1, sizeof(int));
	int			sent;

	for (int i = 0; i < nparams && r->ok; i++)
	{
		types[i] = (Oid) rd_u32(r);
		values[i] = rd_bytes(r, 1);
		lengths[i] = values[i] ? (int) strlen(values[i]) : 0;
	}
	if (!r->ok || r->p != r->end)
	{
		send_error("08P01", "pg_port: malformed query frame", NULL, NULL, 0);
		goto done;
	}

	if (name[0] != '\0' && !is_prepared(name))
	{
		PGresult   *res;

		if (!PQsendPrepare(conn, name, sql, nparams, types))
			send_lost();
		res = collect_results();
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			reply_result(res);
			goto done;
		}
		PQclear(res);
		prepared = realloc(prepared, sizeof(char *) * (size_t) (nprepared + 1));
		prepared[nprepared++] = strdup(name);
	}
	if (name[0] != '\0')
		sent = PQsendQueryPrepared(conn, name, nparams,
								   (const char *const *) values, lengths, NULL, 0);
	else
		sent = PQsendQueryParams(conn, sql, nparams, types,
								 (const char *const *) values, lengths, NULL, 0);
	if (!sent)
	{
		if (connection_lost())
			send_lost();
		send_error("08P01", PQerrorMessage(conn), NULL, NULL, 0);
		goto done;
	}
	reply_result(collect_results());

done:
	for (int i = 0; i < nparams; i++)
		free(values[i]);
	free(values);
	free(lengths);
	free(types);
	free(name);
	free(sql);
}

static void
cancel_query(void)
{
	char		err[256];

	if (cancel_obj)
		(void) PQcancel(cancel_obj, err, sizeof(err));
}

static void
handle_frame(char *frame, size_t len, int busy)
{
	Reader		r = {frame + 1, frame + len, len > 0};

	if (len == 0)
	{
		send_error("08P01", "pg_port: empty frame", NULL, NULL, 0);
		return;
	}
	switch (frame[0])
	{
		case 'X':
			if (busy)
				cancel_query();
			break;
		case 'Q':
			if (busy)
				send_error("08P01", "pg_port: a query is already running", NULL, NULL, 0);
			else
				run_query(&r);
			break;
		default:
			send_error("08P01", "pg_port: unknown operation", NULL, NULL, 0);
			break;
	}
}

static void
connect_db(void)
{
	char	   *frame;
	size_t		len = read_frame(&frame);
	Reader		r = {frame + 1, frame + len, 1};
	char	   *conninfo;
	PGresult   *res;
	Buf			b = {0};

	if (len == 0 || frame[0] != 'C' || (conninfo = rd_bytes(&r, 0)) == NULL)
	{
		send_error("08P01", "pg_port: expected a connect frame", NULL, NULL, 1);
		exit(1);
	}
	{
		const char *keys[] = {"dbname", "fallback_application_name", NULL};
		const char *vals[] = {conninfo, "commanded_pg_event_store", NULL};

		conn = PQconnectdbParams(keys, vals, 1);
	}
	free(conninfo);
	free(frame);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		send_error("08001", PQerrorMessage(conn), NULL, NULL, 1);
		exit(1);
	}
	PQsetNoticeReceiver(conn, ignore_notice, NULL);
	/* rows come back in a form the Elixir side parses without guessing */
	res = PQexec(conn, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; "
				 "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		send_result_error(res);
		exit(1);
	}
	PQclear(res);
	cancel_obj = PQgetCancel(conn);
	frame_start(&b, 'K');
	buf_u32(&b, (uint32_t) PQserverVersion(conn));
	send_frame(&b);
	free(b.data);
}

int
main(void)
{
	connect_db();
	for (;;)
		wait_io(0);
	return 0;
}
