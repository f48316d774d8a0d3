/*-------------------------------------------------------------------------
 *
 * results.c
 *	  The result sets of the read functions: InitMaterializedSRF, except
 *	  that the tuplestore lives in a memory context kept across calls.
 *
 * Why: a page of 1,000 events is about a megabyte of tuples.  In the
 * query's own context that memory is malloc'ed on every call and given back
 * at its end, and glibc hands blocks that large back to the kernel (munmap,
 * or a trim of the heap top): the next call page-faults the same megabyte
 * in again, zeroed.  perf put the page faults at a sixth of a read's time
 * at 8 clients (docs/benchmarks.md, (e)).  Here the tuples come from the
 * free lists of a context that keeps its blocks, so a backend reading page
 * after page reuses the same memory.
 *
 * The executor frees the tuples itself (tuplestore_end, at the end of the
 * function scan).  What an error leaves behind is swept when the last query
 * holding one of our result sets ends: a reset callback on each query's
 * context counts them, and the context is reset when none is left and it
 * holds more than ES_RESULTS_KEEP.  At most that much stays with an idle
 * backend.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/results.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "event_store.h"

/* What an idle backend may keep for the next read: a few pages of events */
#define ES_RESULTS_KEEP		(4 * 1024 * 1024)

static MemoryContext ResultsContext = NULL;
static int	live_results = 0;

static void
results_done(void *arg)
{
	if (--live_results == 0 &&
		MemoryContextMemAllocated(ResultsContext, false) > ES_RESULTS_KEEP)
		MemoryContextReset(ResultsContext);
}

/*
 * Set up fcinfo's ReturnSetInfo for materialize mode (as InitMaterializedSRF
 * with no flags), with the tuplestore in ResultsContext.
 */
void
es_init_result_set(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext per_query;
	MemoryContext old;
	MemoryContextCallback *callback;
	TupleDesc	desc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed in this context")));

	per_query = rsinfo->econtext->ecxt_per_query_memory;
	old = MemoryContextSwitchTo(per_query);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (ResultsContext == NULL)
		ResultsContext = AllocSetContextCreate(TopMemoryContext,
											   "event_store read results",
											   ALLOCSET_DEFAULT_SIZES);
	/* counted before the query can end, so the callback always has one */
	callback = palloc(sizeof(MemoryContextCallback));
	callback->func = results_done;
	callback->arg = NULL;
	MemoryContextRegisterResetCallback(per_query, callback);
	live_results++;

	MemoryContextSwitchTo(ResultsContext);
	rsinfo->setResult = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
											  false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = desc;
	MemoryContextSwitchTo(old);
}
