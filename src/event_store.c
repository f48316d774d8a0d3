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

bool		es_notify = true;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomBoolVariable("event_store.notify",
							 "Sends NOTIFY event_store after each append.",
							 "NOTIFY serialises committing transactions "
							 "cluster-wide; turn it off where appenders must not "
							 "wait on each other and subscribers use logical decoding.",
							 &es_notify,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("event_store");
}
