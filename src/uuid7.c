/*-------------------------------------------------------------------------
 *
 * uuid7.c
 *	  Time-ordered event ids: UUID version 7 (RFC 9562).
 *
 * 48 bits of Unix milliseconds, then a 12-bit counter (RFC 9562 "method 1")
 * so that ids made by one backend within one millisecond still sort in the
 * order they were made, then 62 random bits.  Ids of one backend are strictly
 * increasing even if the clock steps back.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/uuid7.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "port.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "event_store.h"

static int64 last_ms = 0;
static uint16 last_counter = 0;

PG_FUNCTION_INFO_V1(es_uuid_generate_v7);

void
es_uuid7(unsigned char *out)
{
	int64		ms;
	uint16		counter;
	unsigned char rnd[10];
	int			i;

	if (!pg_strong_random(rnd, sizeof(rnd)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for an event id")));

	ms = GetCurrentTimestamp() / 1000 +
		((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE)) * SECS_PER_DAY * 1000;

	if (ms > last_ms)
	{
		/* a fresh millisecond: start the counter low, leaving room to count */
		counter = ((rnd[0] << 8) | rnd[1]) & 0x07FF;
	}
	else
	{
		/* same millisecond, or the clock went back: keep sorting after last */
		ms = last_ms;
		counter = last_counter + 1;
		if (counter > 0x0FFF)
		{
			ms++;
			counter = 0;
		}
	}
	last_ms = ms;
	last_counter = counter;

	for (i = 0; i < 6; i++)
		out[i] = (unsigned char) (ms >> (8 * (5 - i)));
	out[6] = 0x70 | ((counter >> 8) & 0x0F);	/* version 7 */
	out[7] = counter & 0xFF;
	out[8] = 0x80 | (rnd[2] & 0x3F);	/* variant 10 */
	memcpy(out + 9, rnd + 3, 7);
}

/*
 * uuid_generate_v7() -> uuid
 */
Datum
es_uuid_generate_v7(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));

	es_uuid7(uuid->data);
	PG_RETURN_UUID_P(uuid);
}
