/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  What each backend keeps of the catalog: the OIDs of the extension's
 *	  relations, dropped when any of them goes away.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "event_store.h"

static EsCatalog catalog;
static bool catalog_valid = false;
static bool callback_registered = false;

static void es_relcache_callback(Datum arg, Oid relid);
static Oid	es_lookup_relation(const char *name);

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
