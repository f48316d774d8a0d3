/*-------------------------------------------------------------------------
 *
 * es_tail_state.c
 *	  The state file of es_tail: which positions it has delivered.
 *
 * A slot delivers in commit order, not position order, so "the highest
 * position delivered" is not a resume point: a transaction that drew
 * position 10 may commit after the one that drew 11.  What es_tail keeps is
 * the set of positions it has written out, as a low-water mark ("every
 * position up to here is delivered, or is a hole that will never be filled,
 * or an event the plugin's filters exclude") plus sorted runs of delivered
 * positions above it.  Holes are proven with the store's own gap-free
 * reader (es_tail_table.c), and the proven runs fold into the mark, so the
 * file stays small.
 *
 * Each recent run carries the commit LSN of its newest transaction.  On
 * PostgreSQL 15 a logical slot may hand out a transaction that the
 * synchronous standby has not flushed yet; if that standby is promoted, the
 * transaction is gone, and the new primary may give its positions to other
 * events.  After a timeline switch es_tail therefore forgets the runs whose
 * LSN is at or past the switch point and reads those positions again from
 * the new primary's table.  Runs older than the failover window (bytes of
 * WAL behind the newest commit seen) are settled: their LSN is dropped and
 * they may merge with their neighbours.
 *
 * The file is rewritten whole (write, fsync, rename, fsync the directory)
 * and only ever lists positions whose lines were already written out, so
 * it may lag the output (the lagging events come again after a failover:
 * at-least-once) but never leads it.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * client/es_tail_state.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_tail.h"

#define STATE_MAGIC "es_tail state 1"

/* recent runs merge only within one 64 kB stretch of WAL */
#define LSN_BUCKET(lsn) ((lsn) >> 16)

static bool
mergeable(const EsRange *a, const EsRange *b)
{
	if (a->hi + 1 != b->lo)
		return false;
	if (a->lsn == 0 || b->lsn == 0)
		return a->lsn == b->lsn;
	return LSN_BUCKET(a->lsn) == LSN_BUCKET(b->lsn);
}

static void
remove_at(EsState *state, int i, int n)
{
	memmove(&state->ranges[i], &state->ranges[i + n],
			sizeof(EsRange) * (state->nranges - i - n));
	state->nranges -= n;
}

/* merge runs i and i+1 where they touch; fold a settled first run into low */
static void
merge_around(EsState *state, int i)
{
	if (i >= 0 && i + 1 < state->nranges &&
		mergeable(&state->ranges[i], &state->ranges[i + 1]))
	{
		EsRange    *a = &state->ranges[i];

		a->hi = state->ranges[i + 1].hi;
		if (state->ranges[i + 1].lsn > a->lsn)
			a->lsn = state->ranges[i + 1].lsn;
		remove_at(state, i + 1, 1);
	}
	while (state->nranges > 0 && state->ranges[0].lsn == 0 &&
		   state->ranges[0].lo == state->low + 1)
	{
		state->low = state->ranges[0].hi;
		remove_at(state, 0, 1);
	}
}

/* index of the first run whose lo is above pos */
static int
first_above(const EsState *state, int64_t pos)
{
	int			lo = 0;
	int			hi = state->nranges;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (state->ranges[mid].lo > pos)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

bool
es_state_contains(const EsState *state, int64_t pos)
{
	int			i;

	if (pos <= state->low)
		return true;
	i = first_above(state, pos);
	return i > 0 && state->ranges[i - 1].hi >= pos;
}

/*
 * Record lo..hi as delivered (or, with lsn 0 from es_fill_holes, accounted
 * for).  Positions already recorded are left as they are; a run that
 * overlaps recorded ones is added position by position.
 */
void
es_state_add(EsState *state, int64_t lo, int64_t hi, lsn_t lsn)
{
	int			i;

	if (state->path == NULL)
		return;
	if (lo <= state->low)
		lo = state->low + 1;
	if (lo > hi)
		return;
	i = first_above(state, lo);
	if ((i > 0 && state->ranges[i - 1].hi >= lo) ||
		(i < state->nranges && state->ranges[i].lo <= hi))
	{
		int64_t		p;

		if (lo == hi)
			return;
		for (p = lo; p <= hi; p++)
			es_state_add(state, p, p, lsn);
		return;
	}

	if (state->nranges == state->cap)
	{
		state->cap = state->cap ? state->cap * 2 : 64;
		state->ranges = realloc(state->ranges, sizeof(EsRange) * state->cap);
		if (state->ranges == NULL)
			es_fatal("out of memory");
	}
	memmove(&state->ranges[i + 1], &state->ranges[i],
			sizeof(EsRange) * (state->nranges - i));
	state->ranges[i].lo = lo;
	state->ranges[i].hi = hi;
	state->ranges[i].lsn = lsn;
	state->nranges++;
	if (lsn > state->newest)
		state->newest = lsn;
	state->dirty = true;

	merge_around(state, i);
	merge_around(state, i - 1);
}

/* Settle the runs more than window bytes of WAL behind the newest commit */
void
es_state_settle(EsState *state, uint64_t window)
{
	lsn_t		limit;
	int			i;
	bool		changed = false;

	if (state->newest <= window)
		return;
	limit = state->newest - window;
	for (i = 0; i < state->nranges; i++)
	{
		EsRange    *r = &state->ranges[i];

		if (r->lsn != 0 && r->lsn <= limit)
		{
			if (r->lsn > state->settled_upto)
				state->settled_upto = r->lsn;
			r->lsn = 0;
			changed = true;
		}
	}
	if (!changed)
		return;
	for (i = state->nranges - 2; i >= -1; i--)
		merge_around(state, i);
	state->dirty = true;
}

/*
 * Forget the recent runs at or past an LSN (a timeline's switch point):
 * the new primary may not have their events.  Returns how many positions
 * were forgotten.
 */
int
es_state_forget_from(EsState *state, lsn_t from)
{
	int			i = 0;
	int			forgotten = 0;

	while (i < state->nranges)
	{
		if (state->ranges[i].lsn != 0 && state->ranges[i].lsn >= from)
		{
			forgotten += (int) (state->ranges[i].hi - state->ranges[i].lo + 1);
			remove_at(state, i, 1);
		}
		else
			i++;
	}
	if (forgotten > 0)
		state->dirty = true;
	return forgotten;
}

/* the highest position recorded */
int64_t
es_state_top(const EsState *state)
{
	return state->nranges > 0 ? state->ranges[state->nranges - 1].hi : state->low;
}

/* The first gap lo..hi below the top that starts after "after" */
bool
es_state_next_gap(const EsState *state, int64_t after, int64_t *lo, int64_t *hi)
{
	int64_t		prev = state->low;
	int			i;

	for (i = 0; i < state->nranges; i++)
	{
		if (state->ranges[i].lo > prev + 1 && prev + 1 > after)
		{
			*lo = prev + 1;
			*hi = state->ranges[i].lo - 1;
			return true;
		}
		prev = state->ranges[i].hi;
	}
	return false;
}

static bool
parse_lsn_word(const char *text, lsn_t *lsn)
{
	unsigned	hi,
				lo;

	if (sscanf(text, "%X/%X", &hi, &lo) != 2)
		return false;
	*lsn = ((lsn_t) hi << 32) | lo;
	return true;
}

void
es_state_load(EsState *state, const char *path)
{
	FILE	   *f;
	char		line[256];
	int			lineno = 0;

	memset(state, 0, sizeof(*state));
	if (path == NULL)
		return;
	state->path = strdup(path);
	if (state->path == NULL)
		es_fatal("out of memory");

	f = fopen(path, "r");
	if (f == NULL)
	{
		if (errno != ENOENT)
			es_fatal("could not open state file \"%s\": %s", path, strerror(errno));
		es_note("state file \"%s\" does not exist: nothing was delivered yet", path);
		state->dirty = true;
		return;
	}
	while (fgets(line, sizeof(line), f))
	{
		char		word[32];
		char		a[64],
					b[64],
					c[64];
		int			n;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (lineno == 1)
		{
			if (strcmp(line, STATE_MAGIC) != 0)
				es_fatal("\"%s\" is not an es_tail state file (first line \"%s\")", path, line);
			continue;
		}
		n = sscanf(line, "%31s %63s %63s %63s", word, a, b, c);
		if (n < 2)
			es_fatal("state file \"%s\", line %d: cannot parse \"%s\"", path, lineno, line);
		if (strcmp(word, "system") == 0)
			state->system = strtoull(a, NULL, 10);
		else if (strcmp(word, "timeline") == 0)
			state->timeline = (uint32_t) strtoul(a, NULL, 10);
		else if (strcmp(word, "confirmed") == 0 && parse_lsn_word(a, &state->confirmed))
			;
		else if (strcmp(word, "low") == 0)
			state->low = strtoll(a, NULL, 10);
		else if (strcmp(word, "newest") == 0 && parse_lsn_word(a, &state->newest))
			;
		else if (strcmp(word, "settled") == 0 && parse_lsn_word(a, &state->settled_upto))
			;
		else if (strcmp(word, "range") == 0 && n == 4)
		{
			lsn_t		lsn;
			lsn_t		newest = state->newest;

			if (!parse_lsn_word(c, &lsn))
				es_fatal("state file \"%s\", line %d: bad LSN \"%s\"", path, lineno, c);
			es_state_add(state, strtoll(a, NULL, 10), strtoll(b, NULL, 10), lsn);
			state->newest = newest;
		}
		else
			es_fatal("state file \"%s\", line %d: cannot parse \"%s\"", path, lineno, line);
	}
	if (ferror(f))
		es_fatal("could not read state file \"%s\": %s", path, strerror(errno));
	fclose(f);
	state->dirty = false;
	es_note("state: %" PRId64 " and below, %d runs above, up to %" PRId64,
			state->low, state->nranges, es_state_top(state));
}

/* Rewrite the file: a temporary file, fsync'ed, renamed over it */
void
es_state_save(EsState *state)
{
	char	   *tmp;
	char	   *dir;
	char	   *slash;
	FILE	   *f;
	int			fd;
	int			i;

	if (state->path == NULL || !state->dirty)
		return;
	tmp = malloc(strlen(state->path) + 5);
	dir = strdup(state->path);
	if (tmp == NULL || dir == NULL)
		es_fatal("out of memory");
	sprintf(tmp, "%s.tmp", state->path);

	f = fopen(tmp, "w");
	if (f == NULL)
		es_fatal("could not create \"%s\": %s", tmp, strerror(errno));
	fprintf(f, "%s\n", STATE_MAGIC);
	fprintf(f, "system %" PRIu64 "\ntimeline %u\nconfirmed %X/%X\nlow %" PRId64 "\n",
			state->system, state->timeline,
			LSN_HI(state->confirmed), LSN_LO(state->confirmed), state->low);
	fprintf(f, "newest %X/%X\nsettled %X/%X\n",
			LSN_HI(state->newest), LSN_LO(state->newest),
			LSN_HI(state->settled_upto), LSN_LO(state->settled_upto));
	for (i = 0; i < state->nranges; i++)
		fprintf(f, "range %" PRId64 " %" PRId64 " %X/%X\n",
				state->ranges[i].lo, state->ranges[i].hi,
				LSN_HI(state->ranges[i].lsn), LSN_LO(state->ranges[i].lsn));
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
		es_fatal("could not write \"%s\": %s", tmp, strerror(errno));
	if (rename(tmp, state->path) != 0)
		es_fatal("could not rename \"%s\" to \"%s\": %s", tmp, state->path, strerror(errno));

	/* the rename itself is durable only once the directory is */
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY);
	if (fd >= 0)
	{
		(void) fsync(fd);
		close(fd);
	}
	free(tmp);
	free(dir);
	state->dirty = false;
}
