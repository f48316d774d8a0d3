/*-------------------------------------------------------------------------
 *
 * names.c
 *	  What a stream's name means: the naming rules, its category and its
 *	  consumer-group hash.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/names.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/md5.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "event_store.h"

PG_FUNCTION_INFO_V1(es_stream_hash);

/*
 * SPEC: stream names are 1 to 1,024 bytes; names starting with '$' are
 * reserved for the store ($all, $ce-...).
 */
void
es_check_stream_name(const char *name, int len)
{
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("stream name must not be empty")));
	if (len > ES_MAX_STREAM_NAME_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 /* cut at a character boundary: half a character is not UTF-8 */
				 errmsg("stream name \"%.*s...\" is too long",
						pg_mbcliplen(name, len, 32), name),
				 errdetail("A stream name has at most %d bytes, but this one has %d.",
						   ES_MAX_STREAM_NAME_BYTES, len)));
	if (name[0] == '$')
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("stream name \"%.*s\" is reserved", len, name),
				 errdetail("Names starting with \"$\" are reserved for the store.")));
}

/*
 * The category of a stream: the part of the name before the first '-', or
 * the whole name.  Returns a palloc'd, NUL-terminated string.
 */
char *
es_category_of(const char *name, int len)
{
	const char *dash = memchr(name, '-', len);

	return pnstrdup(name, dash ? dash - name : len);
}

/*
 * stream_hash(text) -> bigint
 *
 * The consumer-group hash: the first 8 bytes of the MD5 of the name, read as
 * a big-endian unsigned integer and shifted right by one bit, so it is never
 * negative.  Clients compute the same value; it must never change.
 */
Datum
es_stream_hash(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(es_stream_hash_of(PG_GETARG_TEXT_PP(0)));
}

int64
es_stream_hash_of(text *name)
{
	uint8		digest[MD5_DIGEST_LENGTH];
	const char *errstr = NULL;
	uint64		h = 0;
	int			i;

	if (!pg_md5_binary(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name), digest, &errstr))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute MD5 hash: %s", errstr)));

	for (i = 0; i < 8; i++)
		h = (h << 8) | digest[i];

	return (int64) (h >> 1);
}
