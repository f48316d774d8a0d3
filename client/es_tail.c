/*-------------------------------------------------------------------------
 *
 * es_tail.c
 *	  A tailing subscriber of event_store: follows a logical replication
 *	  slot of the event_store output plugin over the replication protocol
 *	  and prints every event as one JSON line on stdout.
 *
 * Delivery is at-least-once.  es_tail acknowledges to the server (standby
 * status updates) only positions whose output it has flushed to stdout, and
 * fsync'ed too with --fsync; the server then never sends those again.  If
 * es_tail is killed between writing an event and acknowledging it, the next
 * run starts at the last acknowledged position and prints the event again:
 * nothing is lost, a few events may repeat.  Consumers that must not see an
 * event twice keep the highest "position" per stream (or the set of
 * positions) they have handled, or use include-transactions and skip every
 * transaction whose commit_lsn is not above the last one they finished.
 * docs/streaming.md has the details.
 *
 * Usage: es_tail -d CONNINFO -S SLOT [--create-slot] [-o NAME[=VALUE]]...
 *
 * Copyright (c) 2026, the event_store authors
 *
 * client/es_tail.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define PLUGIN_NAME "event_store"

/* seconds from the Unix epoch to PostgreSQL's, 2000-01-01 */
#define POSTGRES_EPOCH_OFFSET	INT64_C(946684800)

typedef uint64_t lsn_t;

typedef struct Option
{
	char	   *name;
	char	   *value;			/* NULL: the option without a value */
} Option;

static const char *progname = "es_tail";
static const char *conninfo = NULL;
static const char *slot = NULL;
static bool create_slot = false;
static bool do_fsync = false;
static bool verbose = false;
static int	status_interval = 10;	/* seconds */
static Option *options = NULL;
static int	noptions = 0;

static PGconn *conn = NULL;
static lsn_t written_lsn = 0;	/* everything up to here is in out_buf */
static lsn_t flushed_lsn = 0;	/* ... and flushed (and fsync'ed with -F) */
static lsn_t reported_lsn = 0;	/* what the server was last told */
static volatile sig_atomic_t stop_requested = 0;

/*
 * Our own output buffer rather than stdio's: it goes to stdout only in
 * whole lines, so a consumer of a file that es_tail was killed while writing
 * sees complete lines (a write(2) to a file is not cut short by SIGKILL).
 */
static char *out_buf = NULL;
static size_t out_len = 0;
static size_t out_cap = 0;

static void usage(void);
static void fatal(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));
static void note(const char *fmt,...) __attribute__((format(printf, 1, 2)));
static void on_signal(int signo);
static int64_t now_usec(void);
static uint64_t recv_uint64(const char *buf);
static void send_uint64(char *buf, uint64_t v);
static void connect_replication(void);
static void ensure_slot(void);
static void start_replication(void);
static void out_line(const char *data, size_t len);
static void out_write(void);
static void flush_output(void);
static void send_feedback(bool force, bool reply_requested);
static void stream(void);

static void
usage(void)
{
	printf("%s follows an event_store logical replication slot and prints each event\n"
		   "as one JSON line on stdout (at-least-once: see docs/streaming.md).\n\n"
		   "Usage:\n  %s -d CONNINFO -S SLOT [OPTION]...\n\n"
		   "Options:\n"
		   "  -d, --dbname=CONNINFO      database to stream from (a connection string or URI)\n"
		   "  -S, --slot=SLOT            the replication slot to follow\n"
		   "      --create-slot          create the slot (plugin " PLUGIN_NAME ") if it does not exist\n"
		   "  -o, --option=NAME[=VALUE]  pass an option to the output plugin (repeatable),\n"
		   "                             e.g. -o categories=order -o include-transactions\n"
		   "  -F, --fsync                fsync stdout before acknowledging (when it is a file)\n"
		   "  -s, --status-interval=SECS time between status updates to the server (default 10)\n"
		   "  -v, --verbose              report progress on stderr\n"
		   "  -h, --help                 show this help, then exit\n",
		   progname, progname);
}

static void
fatal(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: error: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (conn)
		PQfinish(conn);
	exit(1);
}

static void
note(const char *fmt,...)
{
	va_list		ap;

	if (!verbose)
		return;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

/*
 * A replication connection to one database: replication=database after the
 * user's conninfo, so it wins over anything the conninfo says.
 */
static void
connect_replication(void)
{
	const char *keywords[] = {"dbname", "replication", "fallback_application_name", NULL};
	const char *values[] = {conninfo, "database", progname, NULL};

	conn = PQconnectdbParams(keywords, values, 1);
	if (PQstatus(conn) != CONNECTION_OK)
		fatal("could not connect: %s", PQerrorMessage(conn));
}

/* CREATE_REPLICATION_SLOT, where the slot does not exist yet */
static void
ensure_slot(void)
{
	char	   *ident = PQescapeIdentifier(conn, slot, strlen(slot));
	char		sql[1024];
	PGresult   *res;

	if (ident == NULL)
		fatal("could not quote slot name: %s", PQerrorMessage(conn));
	snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s LOGICAL %s", ident, PLUGIN_NAME);
	PQfreemem(ident);

	res = PQexec(conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		note("created slot \"%s\"", slot);
	else
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		/* 42710: duplicate_object, the slot is there already */
		if (state == NULL || strcmp(state, "42710") != 0)
			fatal("could not create slot \"%s\": %s", slot, PQerrorMessage(conn));
		note("slot \"%s\" exists", slot);
	}
	PQclear(res);
}

/*
 * START_REPLICATION from the slot's confirmed position (0/0 = "where the
 * slot is"), with the plugin options quoted for the server.
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
		fatal("could not quote slot name: %s", PQerrorMessage(conn));
	for (i = 0; i < noptions; i++)
		cap += 2 * strlen(options[i].name) + 8 +
			(options[i].value ? 2 * strlen(options[i].value) + 8 : 0);
	cap += strlen(ident);
	sql = malloc(cap);
	if (sql == NULL)
		fatal("out of memory");
	snprintf(sql, cap, "START_REPLICATION SLOT %s LOGICAL 0/0", ident);
	PQfreemem(ident);

	for (i = 0; i < noptions; i++)
	{
		char	   *name = PQescapeIdentifier(conn, options[i].name, strlen(options[i].name));

		if (name == NULL)
			fatal("could not quote option name: %s", PQerrorMessage(conn));
		strcat(sql, i == 0 ? " (" : ", ");
		strcat(sql, name);
		PQfreemem(name);
		if (options[i].value)
		{
			char	   *value = PQescapeLiteral(conn, options[i].value, strlen(options[i].value));

			if (value == NULL)
				fatal("could not quote option value: %s", PQerrorMessage(conn));
			strcat(sql, " ");
			strcat(sql, value);
			PQfreemem(value);
		}
	}
	if (noptions > 0)
		strcat(sql, ")");

	note("%s", sql);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_BOTH)
		fatal("could not start streaming from slot \"%s\": %s", slot, PQerrorMessage(conn));
	PQclear(res);
	free(sql);
}

/* Buffer one message and its newline; write the buffer when it is large */
static void
out_line(const char *data, size_t len)
{
	if (out_len + len + 1 > out_cap)
	{
		size_t		cap = out_cap ? out_cap : 65536;

		while (cap < out_len + len + 1)
			cap *= 2;
		out_buf = realloc(out_buf, cap);
		if (out_buf == NULL)
			fatal("out of memory");
		out_cap = cap;
	}
	memcpy(out_buf + out_len, data, len);
	out_buf[out_len + len] = '\n';
	out_len += len + 1;
	if (out_len >= 65536)
		out_write();
}

/* Hand the buffered lines to stdout */
static void
out_write(void)
{
	size_t		done = 0;

	while (done < out_len)
	{
		ssize_t		n = write(STDOUT_FILENO, out_buf + done, out_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fatal("could not write to stdout: %s", strerror(errno));
		done += n;
	}
	out_len = 0;
}

/* Make everything written so far durable enough to acknowledge */
static void
flush_output(void)
{
	out_write();
	if (flushed_lsn == written_lsn)
		return;
	if (do_fsync)
	{
		struct stat st;

		/* a pipe or a terminal cannot be fsync'ed: only files */
		if (fstat(fileno(stdout), &st) == 0 && S_ISREG(st.st_mode) &&
			fsync(fileno(stdout)) != 0)
			fatal("could not fsync stdout: %s", strerror(errno));
	}
	flushed_lsn = written_lsn;
}

/*
 * A standby status update ('r'): written, flushed and applied are all the
 * flushed position, the only one we can vouch for.
 */
static void
send_feedback(bool force, bool reply_requested)
{
	char		msg[1 + 8 + 8 + 8 + 8 + 1];

	flush_output();
	if (!force && flushed_lsn == reported_lsn)
		return;

	msg[0] = 'r';
	send_uint64(&msg[1], flushed_lsn);
	send_uint64(&msg[9], flushed_lsn);
	send_uint64(&msg[17], flushed_lsn);
	send_uint64(&msg[25], (uint64_t) now_usec());
	msg[33] = reply_requested ? 1 : 0;

	if (PQputCopyData(conn, msg, sizeof(msg)) <= 0 || PQflush(conn) != 0)
		fatal("could not send status update: %s", PQerrorMessage(conn));
	if (flushed_lsn != reported_lsn)
		note("acknowledged %X/%X", (unsigned) (flushed_lsn >> 32), (unsigned) flushed_lsn);
	reported_lsn = flushed_lsn;
}

static void
stream(void)
{
	int64_t		last_status = now_usec();

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
				fatal("select() failed: %s", strerror(errno));
			if (!PQconsumeInput(conn))
				fatal("could not receive data: %s", PQerrorMessage(conn));
			continue;
		}
		if (len == -1)
			break;				/* the server ended the stream */
		if (len < 0)
			fatal("could not read from the stream: %s", PQerrorMessage(conn));

		if (buf[0] == 'w' && len >= 25)
		{
			/* XLogData: start, end, send time, then one plugin message */
			lsn_t		start = recv_uint64(&buf[1]);

			out_line(buf + 25, len - 25);
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
			fatal("unexpected message \"%c\" in the stream", buf[0]);
		PQfreemem(buf);
	}

	/* stopping (or the server ended the copy): acknowledge what we have */
	send_feedback(true, false);
	if (stop_requested)
	{
		PGresult   *res;

		PQputCopyEnd(conn, NULL);
		PQflush(conn);
		/* drain the rest of the stream and the final results */
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
	else
	{
		PGresult   *res = PQgetResult(conn);

		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			fatal("the stream ended: %s", PQerrorMessage(conn));
		PQclear(res);
	}
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"slot", required_argument, NULL, 'S'},
		{"create-slot", no_argument, NULL, 1},
		{"option", required_argument, NULL, 'o'},
		{"fsync", no_argument, NULL, 'F'},
		{"status-interval", required_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	struct sigaction sa;
	int			c;

	options = calloc(argc, sizeof(Option));
	if (options == NULL)
		fatal("out of memory");

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
						fatal("option name must not be empty in \"-o %s\"", optarg);
					noptions++;
				}
				break;
			case 'F':
				do_fsync = true;
				break;
			case 's':
				status_interval = atoi(optarg);
				if (status_interval < 1)
					fatal("invalid status interval \"%s\": give whole seconds, at least 1", optarg);
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
		fatal("too many arguments (first: \"%s\")", argv[optind]);
	if (conninfo == NULL)
		conninfo = "";
	if (slot == NULL)
		fatal("no slot given: use -S SLOT");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	connect_replication();
	if (create_slot)
		ensure_slot();
	start_replication();
	stream();
	PQfinish(conn);
	return 0;
}
