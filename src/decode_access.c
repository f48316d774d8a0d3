/*-------------------------------------------------------------------------
 *
 * decode_access.c
 *	  Decoding respects grants: who may read events through the output
 *	  plugin.
 *
 * A replication connection can read all of the WAL, so the output plugin
 * checks, before it emits any event, that the decoding role could read the
 * same events with SELECT: a superuser, or a role with USAGE on the schema
 * and SELECT on event_store.events.  Row-level security is the one thing a
 * plain SELECT applies that the plugin cannot (it sees rows as they were
 * written, with no executor to run the policies), so a role that policies on
 * events apply to is refused too, rather than shown every row
 * (docs/streaming.md says how to restrict a subscriber instead).
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/decode_access.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"

#include "event_store.h"

/*
 * Raise 42501 unless the current role may read the events of the relation
 * events_relid (event_store.events) as the output plugin shows them.
 */
void
es_check_decode_access(Oid events_relid)
{
	Oid			roleid = GetUserId();
	Oid			nspid;

	if (superuser_arg(roleid))
		return;

	nspid = get_rel_namespace(events_relid);
	if (!OidIsValid(nspid) ||
		pg_namespace_aclcheck(nspid, roleid, ACL_USAGE) != ACLCHECK_OK ||
		pg_class_aclcheck(events_relid, roleid, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to decode the events of event_store"),
				 errdetail("Role \"%s\" may not SELECT from event_store.events.",
						   GetUserNameFromId(roleid, false)),
				 errhint("Give the role a level with event_store.grant_reader(), or decode as a role that has one.")));

	if (check_enable_rls(events_relid, roleid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to decode the events of event_store"),
				 errdetail("Row-level security on event_store.events applies to role \"%s\", and the output plugin cannot apply it.",
						   GetUserNameFromId(roleid, false)),
				 errhint("Decode as a role that policies do not restrict, and filter with the plugin's options or a publication's row filter.")));
}

/*
 * The same check when decoding starts, where the catalog can be read (a SQL
 * function such as pg_logical_slot_get_changes): event_store.events is
 * looked up by name; without it there is nothing to protect yet.
 */
void
es_check_decode_access_by_name(void)
{
	Oid			nspid = get_namespace_oid("event_store", true);
	Oid			relid;

	if (!OidIsValid(nspid))
		return;
	relid = get_relname_relid("events", nspid);
	if (OidIsValid(relid))
		es_check_decode_access(relid);
}
