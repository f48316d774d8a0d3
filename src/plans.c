/*-------------------------------------------------------------------------
 *
 * plans.c
 *	  Helpers for the statements the extension runs through SPI: plans
 *	  prepared once per backend, and array parameters.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/plans.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "event_store.h"

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

/*
 * A one-dimensional array of n elements of a built-in type ('nulls' may be
 * NULL: none is NULL).
 */
Datum
es_array_of(Datum *elems, bool *nulls, int n, Oid type)
{
	int16		len;
	bool		byval;
	char		align;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &len, &byval, &align);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  type, len, byval, align));
}
