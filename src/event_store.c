/*-------------------------------------------------------------------------
 *
 * event_store.c
 *	  Module start-up: the module magic and the settings (GUCs).
 *
 * The same shared library is also the logical-decoding output plugin
 * (decode.c); nothing here needs shared_preload_libraries.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/event_store.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "event_store.h"

PG_MODULE_MAGIC;

int			es_notify = ES_NOTIFY_ASYNC;

/*
 * event_store.notify: off, commit or async.  The boolean spellings of 1.1
 * keep working (on = async, the new default); they are hidden from the list
 * of values PostgreSQL shows.
 */
static const struct config_enum_entry notify_options[] = {
	{"off", ES_NOTIFY_OFF, false},
	{"commit", ES_NOTIFY_COMMIT, false},
	{"async", ES_NOTIFY_ASYNC, false},
	{"on", ES_NOTIFY_ASYNC, true},
	{"true", ES_NOTIFY_ASYNC, true},
	{"yes", ES_NOTIFY_ASYNC, true},
	{"1", ES_NOTIFY_ASYNC, true},
	{"false", ES_NOTIFY_OFF, true},
	{"no", ES_NOTIFY_OFF, true},
	{"0", ES_NOTIFY_OFF, true},
	{NULL, 0, false}
};

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomEnumVariable("event_store.notify",
							 "How appends send NOTIFY event_store: off, commit or async.",
							 "async: a notifier process per database sends them just after "
							 "commit, without serialising the appenders' commits; commit: "
							 "each appending transaction sends its own (PostgreSQL then "
							 "commits notifying transactions one at a time); off: none.",
							 &es_notify,
							 ES_NOTIFY_ASYNC,
							 notify_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("event_store");

	es_feed_scan_init();
}
