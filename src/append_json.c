/*-------------------------------------------------------------------------
 *
 * append_json.c
 *	  append_to_stream(stream_name, expected_version, events jsonb): the batch
 *	  as one JSON array of objects, the form every driver can bind as a
 *	  string (SPEC "Driver-friendly batches").
 *
 * The array is checked element by element (each refusal names the 1-based
 * index), turned into the event_store.new_event[] the array form takes, and
 * appended by that form, so both share every rule after parsing.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/append_json.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "event_store.h"

/* The keys of one element (new_event's attribute names) */
static const char *const event_keys[] = {
	"event_id", "event_type", "data", "metadata", "causation_id", "correlation_id"
};
#define NUM_EVENT_KEYS	6
#define KEY_EVENT_ID	0
#define KEY_EVENT_TYPE	1

extern Datum es_append_to_stream(PG_FUNCTION_ARGS);

static Datum element_to_new_event(const char *stream, int index, JsonbValue *elem,
								  TupleDesc tupdesc, const int *attr_key);
static Datum json_uuid(const char *stream, int index, const char *key, JsonbValue *v);
static bool parse_uuid(const char *s, int len, pg_uuid_t *out);
static const char *json_type_name(JsonbValue *v);

PG_FUNCTION_INFO_V1(es_append_to_stream_jsonb);

/*
 * append_to_stream(stream_name text, expected_version bigint, events jsonb)
 *	 -> bigint
 */
Datum
es_append_to_stream_jsonb(PG_FUNCTION_ARGS)
{
	char	   *stream = es_stream_name_arg(fcinfo, 0);
	Jsonb	   *batch;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	Oid			new_event_type;
	TupleDesc	tupdesc;
	Datum	   *elems;
	int			n;
	int			i = 0;
	ArrayType  *array;
	int		   *attr_key;
	int			a;
	int			k;

	LOCAL_FCINFO(append, 3);

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("events to append to stream \"%s\" must not be NULL", stream)));
	batch = PG_GETARG_JSONB_P(2);
	if (!JB_ROOT_IS_ARRAY(batch) || JB_ROOT_IS_SCALAR(batch))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("events to append to stream \"%s\" must be a JSON array", stream),
				 errdetail("The argument is a JSON %s.",
						   JB_ROOT_IS_OBJECT(batch) ? "object" : "scalar"),
				 errhint("Pass [{\"event_type\": \"...\", \"data\": {...}}, ...].")));
	n = JB_ROOT_COUNT(batch);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("no events to append to stream \"%s\"", stream),
				 errdetail("An append needs at least one event.")));

	new_event_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									 CStringGetDatum("new_event"),
									 ObjectIdGetDatum(es_catalog()->namespace));
	if (!OidIsValid(new_event_type))
		elog(ERROR, "type event_store.new_event does not exist");
	tupdesc = lookup_rowtype_tupdesc(new_event_type, -1);

	/*
	 * Which key fills each attribute, found by name: the array form checks
	 * the type's layout (append.c) and refuses one it does not know.
	 */
	attr_key = palloc(sizeof(int) * tupdesc->natts);
	for (a = 0; a < tupdesc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, a);

		attr_key[a] = -1;
		if (att->attisdropped)
			continue;
		for (k = 0; k < NUM_EVENT_KEYS; k++)
			if (strcmp(NameStr(att->attname), event_keys[k]) == 0)
				attr_key[a] = k;
	}

	elems = palloc(sizeof(Datum) * n);
	it = JsonbIteratorInit(&batch->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		elems[i] = element_to_new_event(stream, i + 1, &v, tupdesc, attr_key);
		i++;
	}
	ReleaseTupleDesc(tupdesc);

	array = construct_array(elems, n, new_event_type, -1, false, TYPALIGN_DOUBLE);

	/* the array form does the rest, from the expected-version check on */
	InitFunctionCallInfoData(*append, fcinfo->flinfo, 3, InvalidOid, NULL, NULL);
	append->args[0] = fcinfo->args[0];
	append->args[1] = fcinfo->args[1];
	append->args[2].value = PointerGetDatum(array);
	append->args[2].isnull = false;
	return es_append_to_stream(append);
}

/* One element of the batch as a new_event record */
static Datum
element_to_new_event(const char *stream, int index, JsonbValue *elem, TupleDesc tupdesc,
					 const int *attr_key)
{
	Datum		values[NUM_EVENT_KEYS];
	bool		nulls[NUM_EVENT_KEYS];
	Datum	   *row_values;
	bool	   *row_nulls;
	int			a;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			k = -1;

	if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("event %d to append to stream \"%s\" is not a JSON object", index, stream),
				 errdetail("It is a JSON %s.", json_type_name(elem))));

	memset(nulls, true, sizeof(nulls));
	it = JsonbIteratorInit(elem->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			for (k = 0; k < NUM_EVENT_KEYS; k++)
				if (strlen(event_keys[k]) == (size_t) v.val.string.len &&
					memcmp(event_keys[k], v.val.string.val, v.val.string.len) == 0)
					break;
			if (k == NUM_EVENT_KEYS)
				ereport(ERROR,
						(errcode(ERRCODE_ES_INVALID_ARGUMENT),
						 errmsg("event %d to append to stream \"%s\" has an unknown key \"%.*s\"",
								index, stream, v.val.string.len, v.val.string.val),
						 errdetail("The keys are event_type (required), data, metadata, event_id, causation_id and correlation_id.")));
			continue;
		}
		if (tok != WJB_VALUE)
			continue;

		/* a JSON null is an absent value, as in the array form */
		if (v.type == jbvNull)
			continue;
		if (k == KEY_EVENT_TYPE)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_ES_INVALID_ARGUMENT),
						 errmsg("event %d to append to stream \"%s\" has an event_type that is not a string",
								index, stream),
						 errdetail("It is a JSON %s.", json_type_name(&v))));
			values[k] = PointerGetDatum(cstring_to_text_with_len(v.val.string.val,
																 v.val.string.len));
		}
		else if (k == KEY_EVENT_ID || k > 3)
			values[k] = json_uuid(stream, index, event_keys[k], &v);
		else
			values[k] = JsonbPGetDatum(JsonbValueToJsonb(&v));
		nulls[k] = false;
	}

	if (nulls[KEY_EVENT_TYPE] || VARSIZE_ANY_EXHDR(DatumGetPointer(values[KEY_EVENT_TYPE])) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("event %d to append to stream \"%s\" has no event type", index, stream),
				 errdetail("event_type must be a non-empty string.")));

	row_values = palloc(sizeof(Datum) * tupdesc->natts);
	row_nulls = palloc(sizeof(bool) * tupdesc->natts);
	for (a = 0; a < tupdesc->natts; a++)
	{
		row_nulls[a] = attr_key[a] < 0 || nulls[attr_key[a]];
		row_values[a] = row_nulls[a] ? (Datum) 0 : values[attr_key[a]];
	}
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, row_values, row_nulls));
}

static Datum
json_uuid(const char *stream, int index, const char *key, JsonbValue *v)
{
	pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));

	if (v->type != jbvString || !parse_uuid(v->val.string.val, v->val.string.len, uuid))
		ereport(ERROR,
				(errcode(ERRCODE_ES_INVALID_ARGUMENT),
				 errmsg("event %d to append to stream \"%s\" has a malformed %s", index, stream, key),
				 v->type == jbvString ?
				 errdetail("\"%.*s\" is not a UUID.", Min(v->val.string.len, 64), v->val.string.val) :
				 errdetail("It is a JSON %s, not a string.", json_type_name(v))));
	return UUIDPGetDatum(uuid);
}

/*
 * The spellings uuid_in accepts (32 hex digits, optionally in braces, a
 * hyphen allowed after any group of four), without raising its 22P02.
 */
static bool
parse_uuid(const char *s, int len, pg_uuid_t *out)
{
	int			i = 0;
	int			digits = 0;
	bool		braces = len > 0 && s[0] == '{';

	if (braces)
	{
		if (s[len - 1] != '}')
			return false;
		s++;
		len -= 2;
	}
	while (digits < UUID_LEN * 2)
	{
		int			d;

		if (i >= len)
			return false;
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return false;
		if (digits % 2 == 0)
			out->data[digits / 2] = d << 4;
		else
			out->data[digits / 2] |= d;
		digits++;
		i++;
		if (digits % 4 == 0 && digits < UUID_LEN * 2 && i < len && s[i] == '-')
			i++;
	}
	return i == len;
}

static const char *
json_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvArray:
			return "array";
		case jbvObject:
			return "object";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "object" : "array";
		default:
			return "value";
	}
}
