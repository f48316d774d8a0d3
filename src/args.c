/*-------------------------------------------------------------------------
 *
 * args.c
 *	  The arguments the SQL functions share: each is checked the same way
 *	  everywhere, with an ES004 error that names what is wrong.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/args.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "event_store.h"

/*
 * A stream-name argument: ES004 when NULL or against the naming rules.
 * Returns it as a C string.
 */
char *
es_stream_name_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *name;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("stream name must not be NULL")));
	name = PG_GETARG_TEXT_PP(argno);
	es_check_stream_name(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
	return text_to_cstring(name);
}

/*
 * An expected-version argument of an append or delete ('action'): ES004
 * when NULL or below -2.
 */
int64
es_expected_version_arg(FunctionCallInfo fcinfo, int argno, const char *stream,
						const char *action)
{
	int64		expected;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("expected version for stream \"%s\" must not be NULL", stream),
				 errhint("Use event_store.any_version() (-1) to %s without a check.", action)));
	expected = PG_GETARG_INT64(argno);
	if (expected < -2)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("invalid expected version for stream \"%s\"", stream),
				 errdetail("Expected version %lld is below -2.", (long long) expected),
				 errhint("Use a version n > 0, 0 (no stream), -1 (any version) or -2 (stream exists).")));
	return expected;
}

/*
 * The max_count argument of a read, ES004 unless at least 1.  'source' names what is
 * read, as the messages show it: stream "x", category "c" or $all.
 */
int32
es_max_count_arg(FunctionCallInfo fcinfo, int argno, const char *source)
{
	int32		max_count;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("max_count for %s must not be NULL", source)));
	max_count = PG_GETARG_INT32(argno);
	if (max_count <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("max_count for %s must be at least 1", source),
				 errdetail("max_count is %d.", max_count)));
	return max_count;
}
