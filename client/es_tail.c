/*-------------------------------------------------------------------------
 *
 * es_tail.c
 *	  A tailing subscriber of event_store: follows a logical replication
 *	  slot of the event_store output plugin over the replication protocol
 *	  and prints every event as one JSON line on stdout.
 *
 * Delivery is at-least-once.  es_tail acknowledges to the server (standby
 * status updates) only positions whose output it has written to stdout, and
 * fsync'ed too with --fsync; the server then never sends those again.  If
 * es_tail is killed between writing an event and acknowledging it, the next
 * run starts at the last acknowledged position and prints the event again:
 * nothing is lost, a few events may repeat.
 *
 * With --state-file it also records which positions it has delivered
 * (es_tail_state.c).  That is what survives a failover: PostgreSQL 15 does
 * not carry logical slots to a standby, so on the promoted standby the slot
 * is missing; with --create-slot es_tail creates it and first delivers, from
 * the table and in the slot's own snapshot, every event the state file does
 * not list (es_tail_table.c).  When the connection drops es_tail connects
 * again by itself (with a multi-host connection string, to whichever host
 * is the primary now), waiting 0.1 s, 0.2 s, ... up to --max-backoff.
 *
 * docs/streaming.md has the usage and the details.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * client/es_tail.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "es_tail.h"

#define PLUGIN_NAME "event_store"

/* seconds from the Unix epoch to PostgreSQL's, 2000-01-01 */
#define POSTGRES_EPOCH_OFFSET	INT64_C(946684800)

/* a gap check of the state file while streaming, at most this often */
#define FILL_HOLES_RUNS	256
#define FILL_HOLES_EVERY_USEC INT64_C(30000000)

typedef struct Option
{
	char	   *name;
	char	   *value;			/* NULL: the option without a value */
} Option;

typedef enum StreamEnd
{
	STREAM_STOPPED,				/* SIGINT/SIGTERM */
	STREAM_FILL_HOLES,			/* paused to check the state file's gaps */
	STREAM_ENDED				/* the server ended the stream */
} StreamEnd;

const char *progname = "es_tail";
static const char *conninfo = NULL;
static const char *slot = NULL;
static bool create_slot = false;
static const char *state_path = NULL;
static uint64_t failover_window = UINT64_C(16) << 20;
static bool do_fsync = false;
static bool verbose = false;
static bool reconnect = true;
static int	status_interval = 10;	/* seconds */
static int	max_backoff_ms = 10000;
static Option *options = NULL;
static int	noptions = 0;
static bool user_markers = false;	/* the user asked for include-transactions */
static EsFilters filters;

static EsState state;
static PGconn *conn = NULL;
static lsn_t written_lsn = 0;	/* everything up to here is in out_buf */
static lsn_t flushed_lsn = 0;	/* ... and flushed (and fsync'ed with -F) */
static lsn_t reported_lsn = 0;	/* what the server was last told */
static lsn_t xact_commit_lsn = 0;	/* commit LSN of the transaction being read */
static int64_t last_state_save = 0;
static int64_t last_fill_holes = 0;
static volatile int backoff_ms = 100;
static bool state_was_new = false;	/* the state file recorded nothing yet */
static volatile sig_atomic_t stop_requested = 0;
static sigjmp_buf reconnect_point;
static bool reconnect_point_set = false;

/*
 * Our own output buffer rather than stdio's: it goes to stdout only in
 * whole lines, so a consumer of a file that es_tail was killed while writing
 * sees complete lines (a write(2) to a file is not cut short by SIGKILL).
 */
static char *out_buf = NULL;
static size_t out_len = 0;
static size_t out_cap = 0;

static void usage(void);
static void on_signal(int signo);
static int64_t now_usec(void);
static uint64_t recv_uint64(const char *buf);
static void send_uint64(char *buf, uint64_t v);
static void parse_plugin_option(Option *opt);
static void split_list(const char *value, char ***names, int *n);
static void connect_replication(void);
static void identify_system(void);
static lsn_t timeline_switch_point(uint32_t from_tli, uint32_t to_tli);
static void prepare_slot(bool switched);
static void start_replication(void);
static void out_write(void);
static void flush_output(bool save_now);
static void send_feedback(bool force, bool reply_requested);
static void handle_message(const char *data, size_t len, lsn_t start);
static StreamEnd stream(void);
static void end_copy(void);
static void sleep_ms(int ms);

static void
usage(void)
{
	printf("%s follows an event_store logical replication slot and prints each event\n"
		   "as one JSON line on stdout (at-least-once: see docs/streaming.md).\n\n"
		   "Usage:\n  %s -d CONNINFO -S SLOT [OPTION]...\n\n"
		   "Options:\n"
		   "  -d, --dbname=CONNINFO      database to stream from: a connection string or URI;\n"
		   "                             several hosts (host=a,b) are tried in turn, and\n"
		   "                             target_session_attrs=read-write is the default\n"
		   "  -S, --slot=SLOT            the replication slot to follow (required)\n"
		   "      --create-slot          create the slot (plugin " PLUGIN_NAME ") when it is missing;\n"
		   "                             with --state-file, first deliver from the table, in\n"
		   "                             the new slot's snapshot, every event not yet delivered\n"
		   "      --state-file=FILE      record durably which positions were delivered (created\n"
		   "                             when missing: then nothing was delivered yet)\n"
		   "      --failover-window=MB   how far (MB of WAL) a promotable standby may be behind:\n"
		   "                             after a failover, events delivered this recently are\n"
		   "                             read again from the new primary (default 16)\n"
		   "  -o, --option=NAME[=VALUE]  pass an option to the output plugin (repeatable),\n"
		   "                             e.g. -o categories=order -o include-transactions\n"
		   "  -F, --fsync                fsync stdout before acknowledging (when it is a file)\n"
		   "  -s, --status-interval=SECS time between status updates to the server (default 10)\n"
		   "      --max-backoff=SECS     reconnect after a lost connection, waiting 0.1 s, 0.2 s,\n"
		   "                             ... up to SECS between attempts (default 10)\n"
		   "      --no-reconnect         exit with status 1 when the connection is lost instead\n"
		   "  -v, --verbose              report progress on stderr\n"
		   "  -h, --help                 show this help, then exit\n\n"
		   "SIGINT or SIGTERM stop it after acknowledging everything written.  Exit status:\n"
		   "0 after a signal, 1 on an error that retrying cannot cure (bad option, missing\n"
		   "slot without --create-slot, no permission) or a lost connection with --no-reconnect.\n",
		   progname, progname);
}

/* "es_tail: <level>message" on stderr */
static void
report(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", progname, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
es_fatal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	if (conn)
		PQfinish(conn);
	exit(1);
}

void
es_warn(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}

void
es_note(const char *fmt,...)
{
	va_list		ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	report("", fmt, ap);
	va_end(ap);
}

/*
 * A failure of the server or the connection.  Lost connections, shut-down
 * or starting servers, a standby that cannot decode, a slot still held by
 * our previous connection: all pass, so es_tail connects again.  Anything
 * else (no permission, a bad plugin option, a missing slot without
 * --create-slot) would fail the same way again: exit.
 */
void
es_fail(PGresult *res, const char *fmt,...)
{
	static const char *retry_classes[] = {"08", "57", "53", "25", "40", "55", NULL};
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	bool		retry = (conn == NULL || PQstatus(conn) != CONNECTION_OK || sqlstate == NULL);
	va_list		ap;
	int			i;

	for (i = 0; !retry && retry_classes[i]; i++)
		retry = strncmp(sqlstate, retry_classes[i], 2) == 0;
	if (!reconnect || !reconnect_point_set)
		retry = false;

	va_start(ap, fmt);
	report(retry ? "warning: " : "error: ", fmt, ap);
	va_end(ap);
	if (res)
		PQclear(res);
	if (!retry)
	{
		out_write();
		if (conn)
			PQfinish(conn);
		exit(1);
	}
	siglongjmp(reconnect_point, 1);
}

static void
on_signal(int signo)
{
	(void) signo;
	stop_requested = 1;
}

/* microseconds since 2000-01-01, as the replication protocol counts time */
static int64_t
now_usec(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return ((int64_t) tv.tv_sec - POSTGRES_EPOCH_OFFSET) * INT64_C(1000000) + tv.tv_usec;
}

static uint64_t
recv_uint64(const char *buf)
{
	uint64_t	v = 0;
	int			i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | (unsigned char) buf[i];
	return v;
}

static void
send_uint64(char *buf, uint64_t v)
{
	int			i;

	for (i = 7; i >= 0; i--)
	{
		buf[i] = (char) (v & 0xFF);
		v >>= 8;
	}
}

static void
sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long) (ms % 1000) * 1000000;
	while (!stop_requested && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * A plugin list as the plugin reads it (src/decode.c, es_parse_filter):
 * comma-separated, blanks around a name dropped, a backslash takes the next
 * character literally.  Only needed to read the table the same way; the
 * plugin itself rejects what is malformed.
 */
static void
split_list(const char *value, char ***names, int *n)
{
	const char *p = value ? value : "";

	*n = 0;
	*names = calloc(strlen(p) + 2, sizeof(char *));
	if (*names == NULL)
		es_fatal("out of memory");
	for (;;)
	{
		char	   *item = malloc(strlen(p) + 1);
		size_t		len = 0;
		size_t		keep = 0;

		if (item == NULL)
			es_fatal("out of memory");
		while (*p == ' ' || *p == '\t')
			p++;
		while (*p != '\0' && *p != ',')
		{
			if (*p == '\\' && p[1] != '\0')
			{
				item[len++] = p[1];
				p += 2;
				keep = len;
				continue;
			}
			item[len++] = *p;
			if (*p != ' ' && *p != '\t')
				keep = len;
			p++;
		}
		item[keep] = '\0';
		(*names)[(*n)++] = item;
		if (*p == '\0')
			break;
		p++;
	}
}

/* option names compare with '_' and '-' alike */
static bool
option_is(const char *name, const char *want)
{
	for (; *name && *want; name++, want++)
	{
		char		a = (*name == '_') ? '-' : *name;

		if (a != *want)
			return false;
	}
	return *name == '\0' && *want == '\0';
}

static bool
parse_bool_value(const char *value)
{
	static const char *trues[] = {"on", "true", "yes", "1", "t", "y", NULL};
	int			i;

	if (value == NULL)
		return true;
	for (i = 0; trues[i]; i++)
		if (strcasecmp(value, trues[i]) == 0)
			return true;
	return false;
}

/*
 * Note what an output-plugin option means for es_tail: its filters (to read
 * the table the same way), the format, and whether the user wants the
 * transaction markers (es_tail always asks for them: their commit LSN goes
 * into the state file).
 */
static void
parse_plugin_option(Option *opt)
{
	if (option_is(opt->name, "streams"))
		split_list(opt->value, &filters.streams, &filters.nstreams);
	else if (option_is(opt->name, "categories"))
		split_list(opt->value, &filters.categories, &filters.ncategories);
	else if (option_is(opt->name, "event-types"))
		split_list(opt->value, &filters.event_types, &filters.nevent_types);
	else if (option_is(opt->name, "format"))
		filters.compact = opt->value && strcasecmp(opt->value, "compact") == 0;
	else if (option_is(opt->name, "include-transactions") ||
			 option_is(opt->name, "include-transaction"))
	{
		user_markers = parse_bool_value(opt->value);
		opt->name = NULL;		/* es_tail sends its own */
	}
}

/*
 * A replication connection to one database.  target_session_attrs comes
 * first so that the user's conninfo can override it; replication=database
 * comes after it, so that it wins over anything the conninfo says.
 */
static void
connect_replication(void)
{
	const char *keywords[] = {"target_session_attrs", "dbname", "replication",
	"fallback_application_name", NULL};
	const char *values[] = {"read-write", conninfo, "database", progname, NULL};

	conn = PQconnectdbParams(keywords, values, 1);
	if (PQstatus(conn) != CONNECTION_OK)
		es_fail(NULL, "could not connect: %s", PQerrorMessage(conn));
	es_note("connected to %s port %s", PQhost(conn), PQport(conn));
}

/*
 * IDENTIFY_SYSTEM: which cluster and timeline this is.  A state file written
 * on another timeline of the same cluster means a failover happened: forget
 * the positions delivered from WAL past the switch point, which the new
 * primary may not have (see es_tail_state.c).
 */
static void
identify_system(void)
{
	PGresult   *res = PQexec(conn, "IDENTIFY_SYSTEM");
	uint64_t	system;
	uint32_t	tli;
	bool		switched = false;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < 2)
		es_fail(res, "IDENTIFY_SYSTEM failed: %s", PQerrorMessage(conn));
	system = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	tli = (uint32_t) strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);

	if (state.path != NULL)
	{
		if (state.system != 0 && state.system != system)
		{
			int			n = es_state_forget_from(&state, 1);

			es_warn("the server is another cluster (system %" PRIu64 ", the state file's is %" PRIu64
					"): %d recently delivered positions will be read again", system, state.system, n);
			switched = true;
		}
		else if (state.timeline != 0 && state.timeline != tli)
		{
			lsn_t		sp = timeline_switch_point(state.timeline, tli);
			int			n = es_state_forget_from(&state, sp ? sp : 1);

			if (sp != 0 && sp <= state.settled_upto)
				es_warn("timeline %u ended at %X/%X, before the failover window (%X/%X): events delivered from "
						"timeline %u after %X/%X may be missing on this server and are not delivered again",
						state.timeline, LSN_HI(sp), LSN_LO(sp), LSN_HI(state.settled_upto),
						LSN_LO(state.settled_upto), state.timeline, LSN_HI(sp), LSN_LO(sp));
			es_note("timeline %u -> %u (switch at %X/%X): %d positions delivered after it will be read again",
					state.timeline, tli, LSN_HI(sp), LSN_LO(sp), n);
			switched = true;
		}
		if (state.system != system || state.timeline != tli)
			state.dirty = true;
		state.system = system;
		state.timeline = tli;
	}
	prepare_slot(switched);
}

/*
 * Where timeline from_tli ended, from to_tli's history file (lines of
 * "tli<TAB>switchpoint<TAB>reason"); 0 when from_tli is not an ancestor.
 */
static lsn_t
timeline_switch_point(uint32_t from_tli, uint32_t to_tli)
{
	char		sql[64];
	PGresult   *res;
	const char *p;
	lsn_t		sp = 0;

	if (to_tli < from_tli)
	{
		es_warn("the server is on timeline %u, older than the state file's %u", to_tli, from_tli);
		return 0;
	}
	snprintf(sql, sizeof(sql), "TIMELINE_HISTORY %u", to_tli);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		es_fail(res, "%s failed: %s", sql, PQerrorMessage(conn));
	for (p = PQgetvalue(res, 0, 1); p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
	{
		unsigned	tli,
					hi,
					lo;

		if (sscanf(p, "%u %X/%X", &tli, &hi, &lo) == 3 && tli == from_tli)
		{
			sp = ((lsn_t) hi << 32) | lo;
			break;
		}
	}
	PQclear(res);
	if (sp == 0)
		es_warn("timeline %u is not in the history of the server's timeline %u", from_tli, to_tli);
	return sp;
}

/* Make sure the slot exists, catching up from the table if we create it */
static void
prepare_slot(bool switched)
{
	bool		was_new = state_was_new;

	state_was_new = false;
	if (es_slot_exists(conn, slot))
	{
		if (switched)
			es_warn("slot \"%s\" exists on the new timeline but es_tail did not create it there: events "
					"committed after the switch and before its creation were not delivered; drop the "
					"slot to have es_tail create it and catch up from the table", slot);
		else if (was_new)
			es_warn("the state file is new but slot \"%s\" exists: what was delivered from it before is "
					"not recorded, so if the slot is ever lost es_tail will deliver those events again "
					"(start a state file together with its slot)", slot);
		return;
	}
	if (!create_slot)
		es_fatal("replication slot \"%s\" does not exist (give --create-slot to create it%s)", slot,
				 state.path ? " and catch up from the table" : "");
	if (state.path)
	{
		if (es_create_slot_and_catch_up(conn, slot, &state, &filters) == 0)
			es_note("slot \"%s\" exists", slot);
		flush_output(true);
	}
	else
	{
		char	   *ident = PQescapeIdentifier(conn, slot, strlen(slot));
		char		sql[1024];
		PGresult   *res;

		if (ident == NULL)
			es_fatal("could not quote slot name: %s", PQerrorMessage(conn));
		snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s LOGICAL %s", ident, PLUGIN_NAME);
		PQfreemem(ident);
		res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

			/* 42710: duplicate_object, created meanwhile */
			if (sqlstate == NULL || strcmp(sqlstate, "42710") != 0)
				es_fail(res, "could not create slot \"%s\": %s", slot, PQerrorMessage(conn));
		}
		else
			es_note("created slot \"%s\"", slot);
		PQclear(res);
	}
}

/*
 * START_REPLICATION from the slot's confirmed position (0/0 = "where the
 * slot is"), with the plugin options quoted for the server, and
 * include-transactions always on: the commit LSNs go into the state file.
 */
static void
start_replication(void)
{
	size_t		cap = 256;
	char	   *sql;
	char	   *ident;
	PGresult   *res;
	int			i;

	ident = PQescapeIdentifier(conn, slot, strlen(slot));
	if (ident == NULL)
		es_fatal("could not quote slot name: %s", PQerrorMessage(conn));
	for (i = 0; i < noptions; i++)
		if (options[i].name)
			cap += 2 * strlen(options[i].name) + 8 +
				(options[i].value ? 2 * strlen(options[i].value) + 8 : 0);
	cap += strlen(ident);
	sql = malloc(cap);
	if (sql == NULL)
		es_fatal("out of memory");
	snprintf(sql, cap, "START_REPLICATION SLOT %s LOGICAL 0/0 (\"include-transactions\" 'on'", ident);
	PQfreemem(ident);

	for (i = 0; i < noptions; i++)
	{
		char	   *name;

		if (options[i].name == NULL)
			continue;
		name = PQescapeIdentifier(conn, options[i].name, strlen(options[i].name));
		if (name == NULL)
			es_fatal("could not quote option name: %s", PQerrorMessage(conn));
		strcat(sql, ", ");
		strcat(sql, name);
		PQfreemem(name);
		if (options[i].value)
		{
			char	   *value = PQescapeLiteral(conn, options[i].value, strlen(options[i].value));

			if (value == NULL)
				es_fatal("could not quote option value: %s", PQerrorMessage(conn));
			strcat(sql, " ");
			strcat(sql, value);
			PQfreemem(value);
		}
	}
	strcat(sql, ")");

	es_note("%s", sql);
	res = PQexec(conn, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COPY_BOTH)
		es_fail(res, "could not start streaming from slot \"%s\": %s", slot, PQerrorMessage(conn));
	PQclear(res);
}

/* Buffer one message and its newline; write the buffer when it is large */
void
es_out_line(const char *data, size_t len)
{
	if (out_len + len + 1 > out_cap)
	{
		size_t		cap = out_cap ? out_cap : 65536;

		while (cap < out_len + len + 1)
			cap *= 2;
		out_buf = realloc(out_buf, cap);
		if (out_buf == NULL)
			es_fatal("out of memory");
		out_cap = cap;
	}
	memcpy(out_buf + out_len, data, len);
	out_buf[out_len + len] = '\n';
	out_len += len + 1;
	if (out_len >= 65536)
		out_write();
}

/*
 * Hand the buffered lines to stdout.  Linux stops a write(2) to a file
 * between pages when the process is killed, so into a regular file we write
 * whole lines that end within the file page where the write begins: a kill
 * then leaves either all of such a write or none of it.  (Only a single
 * line longer than the rest of its page is written across pages.)  Into a
 * pipe, everything at once.
 */
static void
out_write(void)
{
	static long page = 0;
	struct stat st;
	bool		regular;
	off_t		offset = 0;
	size_t		done = 0;

	if (out_len == 0)
		return;
	if (page == 0)
		page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
	regular = fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	if (regular)
	{
		offset = lseek(STDOUT_FILENO, 0, SEEK_CUR);
		/* opened for appending (>>): the writes go to the end */
		if (offset < 0 || (fcntl(STDOUT_FILENO, F_GETFL) & O_APPEND))
			offset = st.st_size;
	}

	while (done < out_len)
	{
		size_t		chunk = out_len - done;
		ssize_t		n;

		if (regular)
		{
			size_t		room = page - (size_t) (offset % page);
			const char *p = out_buf + done;
			const char *end = out_buf + out_len;

			chunk = 0;
			while (p < end)
			{
				const char *nl = memchr(p, '\n', end - p);
				size_t		line = nl - p + 1;

				if (chunk + line > room && chunk > 0)
					break;
				chunk += line;
				p = nl + 1;
				if (chunk >= room)
					break;
			}
		}
		n = write(STDOUT_FILENO, out_buf + done, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			es_fatal("could not write to stdout: %s", strerror(errno));
		done += n;
		offset += n;
	}
	out_len = 0;
}

/*
 * Make everything written so far durable enough to acknowledge; then the
 * state file may list it (at most once a second unless save_now).
 */
static void
flush_output(bool save_now)
{
	out_write();
	if (do_fsync && (flushed_lsn != written_lsn || save_now || state.dirty))
	{
		struct stat st;

		/* a pipe or a terminal cannot be fsync'ed: only files */
		if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
			fsync(STDOUT_FILENO) != 0)
			es_fatal("could not fsync stdout: %s", strerror(errno));
	}
	flushed_lsn = written_lsn;
	if (state.path && state.dirty &&
		(save_now || now_usec() - last_state_save >= INT64_C(1000000)))
	{
		es_state_settle(&state, failover_window);
		es_state_save(&state);
		last_state_save = now_usec();
	}
}

/*
 * A standby status update ('r'): written, flushed and applied are all the
 * flushed position, the only one we can vouch for.
 */
static void
send_feedback(bool force, bool reply_requested)
{
	char		msg[1 + 8 + 8 + 8 + 8 + 1];

	flush_output(false);
	if (!force && flushed_lsn == reported_lsn)
		return;

	msg[0] = 'r';
	send_uint64(&msg[1], flushed_lsn);
	send_uint64(&msg[9], flushed_lsn);
	send_uint64(&msg[17], flushed_lsn);
	send_uint64(&msg[25], (uint64_t) now_usec());
	msg[33] = reply_requested ? 1 : 0;

	if (PQputCopyData(conn, msg, sizeof(msg)) <= 0 || PQflush(conn) != 0)
		es_fail(NULL, "could not send status update: %s", PQerrorMessage(conn));
	if (flushed_lsn != reported_lsn)
		es_note("acknowledged %X/%X", LSN_HI(flushed_lsn), LSN_LO(flushed_lsn));
	reported_lsn = flushed_lsn;
	if (reported_lsn > state.confirmed)
		state.confirmed = reported_lsn;	/* saved with the next change */
}

/* the LSN after "key":" (json) or after the second comma (compact) */
static lsn_t
marker_lsn(const char *data)
{
	const char *p = strstr(data, "\"commit_lsn\":\"");

	if (p)
		return es_parse_lsn(p + strlen("\"commit_lsn\":\""));
	/* ["begin",740,"0/1A2B3C4",...] */
	p = strchr(data, ',');
	if (p)
		p = strchr(p + 1, ',');
	return p ? es_parse_lsn(p + 2) : 0;
}

/*
 * One plugin message: a transaction marker (es_tail asked for them) or an
 * event.  Markers give the commit LSN recorded with the events; they are
 * printed only if the user asked for them too.
 */
static void
handle_message(const char *data, size_t len, lsn_t start)
{
	bool		marker = (strncmp(data, "{\"action\":", 10) == 0 ||
						  strncmp(data, "[\"begin\"", 8) == 0 ||
						  strncmp(data, "[\"commit\"", 9) == 0);

	if (marker)
	{
		bool		begin = (strncmp(data, "{\"action\":\"begin\"", 17) == 0 ||
							 strncmp(data, "[\"begin\"", 8) == 0);

		if (begin)
			xact_commit_lsn = marker_lsn(data);
		if (user_markers)
			es_out_line(data, len);
		return;
	}
	es_out_line(data, len);
	if (state.path)
	{
		const char *p = data + (data[0] == '{' ? strlen("{\"position\":") : 1);
		int64_t		pos = strtoll(p, NULL, 10);

		if (pos > 0)
			es_state_add(&state, pos, pos, xact_commit_lsn ? xact_commit_lsn : start);
	}
}

static StreamEnd
stream(void)
{
	int64_t		last_status = now_usec();
	StreamEnd	result = STREAM_ENDED;

	while (!stop_requested)
	{
		char	   *buf = NULL;
		int			len;

		/*
		 * Acknowledge what was received within 100 ms, busy or not (fewer
		 * repeats after a crash, still few messages); when idle, send a
		 * status update every status_interval all the same.
		 */
		int64_t		interval = (written_lsn != reported_lsn) ? INT64_C(100000) :
			(int64_t) status_interval * 1000000;
		int64_t		wait = interval - (now_usec() - last_status);

		if (wait <= 0)
		{
			send_feedback(true, false);
			last_status = now_usec();
			if (state.path && state.nranges > FILL_HOLES_RUNS &&
				now_usec() - last_fill_holes > FILL_HOLES_EVERY_USEC)
			{
				result = STREAM_FILL_HOLES;
				break;
			}
			continue;
		}

		len = PQgetCopyData(conn, &buf, 1);
		if (len == 0)
		{
			/* nothing buffered: show what we have, wait for the socket */
			fd_set		input;
			struct timeval timeout;
			int			sock = PQsocket(conn);

			out_write();
			timeout.tv_sec = wait / 1000000;
			timeout.tv_usec = wait % 1000000;
			FD_ZERO(&input);
			FD_SET(sock, &input);
			if (select(sock + 1, &input, NULL, NULL, &timeout) < 0 && errno != EINTR)
				es_fatal("select() failed: %s", strerror(errno));
			if (!PQconsumeInput(conn))
				es_fail(NULL, "could not receive data: %s", PQerrorMessage(conn));
			continue;
		}
		if (len == -1)
			break;				/* the server ended the stream */
		if (len < 0)
			es_fail(NULL, "could not read from the stream: %s", PQerrorMessage(conn));

		if (buf[0] == 'w' && len >= 25)
		{
			/* XLogData: start, end, send time, then one plugin message */
			lsn_t		start = recv_uint64(&buf[1]);

			handle_message(buf + 25, len - 25, start);
			if (start > written_lsn)
				written_lsn = start;
		}
		else if (buf[0] == 'k' && len >= 18)
		{
			/*
			 * Keepalive: the server has sent everything before its end
			 * position, and we have written all of it, so that position can
			 * be acknowledged too (as pg_recvlogical does).  This keeps the
			 * slot moving while the events are filtered out.
			 */
			lsn_t		end = recv_uint64(&buf[1]);
			bool		reply = buf[17] != 0;

			if (end > written_lsn)
				written_lsn = end;
			if (reply)
			{
				send_feedback(true, false);
				last_status = now_usec();
			}
		}
		else
			es_fatal("unexpected message \"%c\" in the stream", buf[0]);
		PQfreemem(buf);
	}

	/* stopping, pausing, or the server ended the copy: acknowledge what we have */
	send_feedback(true, false);
	if (stop_requested || result == STREAM_FILL_HOLES)
	{
		end_copy();
		return stop_requested ? STREAM_STOPPED : result;
	}
	else
	{
		PGresult   *res = PQgetResult(conn);

		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			es_fail(res, "the stream ended: %s", PQerrorMessage(conn));
		PQclear(res);
		return STREAM_ENDED;
	}
}

/*
 * Leave COPY mode: what the server sent meanwhile is dropped (it was not
 * acknowledged, so it comes again), and the connection takes commands.
 */
static void
end_copy(void)
{
	PGresult   *res;

	if (PQputCopyEnd(conn, NULL) <= 0 || PQflush(conn) != 0)
		es_fail(NULL, "could not end the stream: %s", PQerrorMessage(conn));
	for (;;)
	{
		char	   *buf = NULL;
		int			len = PQgetCopyData(conn, &buf, 0);

		if (buf)
			PQfreemem(buf);
		if (len < 0)
			break;
	}
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
}

/* One connection: identify, prepare the slot, stream until it ends */
static StreamEnd
run_connection(void)
{
	StreamEnd	end;

	written_lsn = flushed_lsn = reported_lsn = 0;
	xact_commit_lsn = 0;
	connect_replication();
	identify_system();
	do
	{
		if (state.path)
		{
			es_fill_holes(conn, &state, &filters);
			last_fill_holes = now_usec();
			flush_output(true);
		}
		start_replication();
		backoff_ms = 100;		/* streaming: the next failure starts over */
		end = stream();
	} while (end == STREAM_FILL_HOLES);
	return end;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"slot", required_argument, NULL, 'S'},
		{"create-slot", no_argument, NULL, 1},
		{"state-file", required_argument, NULL, 2},
		{"failover-window", required_argument, NULL, 3},
		{"max-backoff", required_argument, NULL, 4},
		{"no-reconnect", no_argument, NULL, 5},
		{"option", required_argument, NULL, 'o'},
		{"fsync", no_argument, NULL, 'F'},
		{"status-interval", required_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	struct sigaction sa;
	int			c;
	int			i;

	options = calloc(argc, sizeof(Option));
	if (options == NULL)
		es_fatal("out of memory");

	while ((c = getopt_long(argc, argv, "d:S:o:Fs:vh", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				conninfo = optarg;
				break;
			case 'S':
				slot = optarg;
				break;
			case 1:
				create_slot = true;
				break;
			case 2:
				state_path = optarg;
				break;
			case 3:
				{
					char	   *end;
					long		mb = strtol(optarg, &end, 10);

					if (*end != '\0' || mb < 0)
						es_fatal("invalid failover window \"%s\": give whole megabytes", optarg);
					failover_window = (uint64_t) mb << 20;
				}
				break;
			case 4:
				{
					char	   *end;
					double		secs = strtod(optarg, &end);

					if (*end != '\0' || secs < 0.1 || secs > 3600)
						es_fatal("invalid maximum backoff \"%s\": give seconds, 0.1 to 3600", optarg);
					max_backoff_ms = (int) (secs * 1000);
				}
				break;
			case 5:
				reconnect = false;
				break;
			case 'o':
				{
					char	   *eq = strchr(optarg, '=');

					options[noptions].name = optarg;
					options[noptions].value = NULL;
					if (eq)
					{
						*eq = '\0';
						options[noptions].value = eq + 1;
					}
					if (options[noptions].name[0] == '\0')
						es_fatal("option name must not be empty in \"-o %s\"", optarg);
					noptions++;
				}
				break;
			case 'F':
				do_fsync = true;
				break;
			case 's':
				status_interval = atoi(optarg);
				if (status_interval < 1)
					es_fatal("invalid status interval \"%s\": give whole seconds, at least 1", optarg);
				break;
			case 'v':
				verbose = true;
				break;
			case 'h':
				usage();
				return 0;
			default:
				fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
				return 1;
		}
	}
	if (optind < argc)
		es_fatal("too many arguments (first: \"%s\")", argv[optind]);
	if (conninfo == NULL)
		conninfo = "";
	if (slot == NULL)
		es_fatal("no slot given: use -S SLOT");
	for (i = 0; i < noptions; i++)
		parse_plugin_option(&options[i]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	es_state_load(&state, state_path);
	state_was_new = state.path && state.system == 0 && state.low == 0 && state.nranges == 0;

	/* a lost connection comes back here (es_fail) */
	if (sigsetjmp(reconnect_point, 1) != 0)
	{
		out_write();
		if (conn)
			PQfinish(conn);
		conn = NULL;
		if (stop_requested)
		{
			flush_output(true);
			return 0;
		}
		es_note("connecting again in %d ms", backoff_ms);
		sleep_ms(backoff_ms);
		backoff_ms = backoff_ms * 2 > max_backoff_ms ? max_backoff_ms : backoff_ms * 2;
		if (stop_requested)
		{
			flush_output(true);
			return 0;
		}
	}
	reconnect_point_set = true;

	for (;;)
	{
		StreamEnd	end = run_connection();

		flush_output(true);
		if (end == STREAM_STOPPED)
			break;
		/* the server ended the stream (shutting down, say): connect again */
		if (!reconnect)
			es_fatal("the server ended the stream");
		PQfinish(conn);
		conn = NULL;
		sleep_ms(backoff_ms);
		if (stop_requested)
			break;
	}
	if (conn)
		PQfinish(conn);
	return 0;
}
