/*-------------------------------------------------------------------------
 *
 * duplicate.c
 *	  ES003 for a duplicate event id that only the unique index sees.
 *
 * append_to_stream looks the batch's ids up before it inserts (append.c),
 * which catches every duplicate already committed.  Two concurrent appends
 * of one new id to different streams both find nothing; the second to
 * insert waits on the first in the unique index of event_id and, once the
 * first commits, gets 23505.  The insert runs under es_insert_guarded's
 * catch, which turns exactly that error (the unique violation of
 * events_event_id_key) into the ES003 a sequential duplicate gets.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/duplicate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/elog.h"
#include "utils/memutils.h"

#include "event_store.h"

#define EVENT_ID_CONSTRAINT		"events_event_id_key"

/*
 * Report 'edata' again, as ES003 if it is the event-id unique violation.
 * Called in a PG_CATCH block after CopyErrorData; never returns.  The
 * transaction is aborted by the new error as by the old, so nothing runs in
 * between.
 */
void
es_rethrow_duplicate_id(const char *stream, ErrorData *edata)
{
	if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION ||
		edata->constraint_name == NULL ||
		strcmp(edata->constraint_name, EVENT_ID_CONSTRAINT) != 0)
		PG_RE_THROW();

	FlushErrorState();
	ereport(ERROR,
			(errcode(ERRCODE_ES_DUPLICATE_EVENT),
			 errmsg("duplicate event id in append to stream \"%s\"", stream),
			 errdetail("%s A concurrent append stored that id in another stream first.",
					   edata->detail ? edata->detail : "An event id of the batch is already stored."),
			 errhint("Event ids are unique in the whole store.")));
}
