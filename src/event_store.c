/*-------------------------------------------------------------------------
 *
 * event_store.c
 *	  Module magic, the event_store.notify setting, the per-backend cache of
 *	  catalog OIDs, and the stream-name rules every entry point shares.
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

#include "catalog/namespace.h"
#include "common/cryptohash.h"
#include "common/md5.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "event_store.h"

PG_MODULE_MAGIC;

bool		es_notify = true;

static EsCatalog catalog;
static bool catalog_valid = false;
static bool callback_registered = false;

static void es_relcache_callback(Datum arg, Oid relid);
static Oid	es_lookup_relation(const char *name);

void		_PG_init(void);

PG_FUNCTION_INFO_V1(es_stream_hash);

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

/*
 * Any relcache invalidation of one of our relations (or a full reset) drops
 * the cache: DROP EXTENSION and a re-CREATE give the objects new OIDs.
 */
static void
es_relcache_callback(Datum arg, Oid relid)
{
	if (!catalog_valid)
		return;
	if (relid == InvalidOid ||
		relid == catalog.events ||
		relid == catalog.events_pkey ||
		relid == catalog.events_category_idx ||
		relid == catalog.events_stream_version_idx ||
		relid == catalog.streams ||
		relid == catalog.streams_name_idx ||
		relid == catalog.position_seq)
		catalog_valid = false;
}

static Oid
es_lookup_relation(const char *name)
{
	Oid			relid = get_relname_relid(name, catalog.namespace);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("relation \"event_store.%s\" does not exist", name),
				 errhint("Is the extension event_store installed in this database?")));
	return relid;
}

/*
 * The OIDs of the extension's relations, looked up once per backend.
 */
const EsCatalog *
es_catalog(void)
{
	if (catalog_valid)
		return &catalog;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(es_relcache_callback, (Datum) 0);
		callback_registered = true;
	}

	catalog.namespace = get_namespace_oid("event_store", true);
	if (!OidIsValid(catalog.namespace))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"event_store\" does not exist"),
				 errhint("Run CREATE EXTENSION event_store in this database.")));

	catalog.events = es_lookup_relation("events");
	catalog.events_pkey = es_lookup_relation("events_pkey");
	catalog.events_category_idx = es_lookup_relation("events_category_position_idx");
	catalog.events_stream_version_idx = es_lookup_relation("events_stream_version_key");
	catalog.streams = es_lookup_relation("streams");
	catalog.streams_name_idx = es_lookup_relation("streams_stream_name_key");
	catalog.position_seq = es_lookup_relation("global_position_seq");
	catalog_valid = true;

	return &catalog;
}

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

/*
 * Prepare a statement once per backend (inside an SPI connection).  Saved
 * plans are re-planned by the plan cache when the tables change, DROP and
 * CREATE EXTENSION included, and run with the caller's privileges.
 */
SPIPlanPtr
es_prepare(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	if (*cache == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 sql, SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		*cache = plan;
	}
	return *cache;
}
