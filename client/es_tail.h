/*-------------------------------------------------------------------------
 *
 * es_tail.h
 *	  What the files of es_tail, the tailing subscriber, share.
 *
 *	  es_tail.c        options, connections, streaming, reconnecting
 *	  es_tail_state.c  the state file: which positions were delivered
 *	  es_tail_table.c  what es_tail reads from the table: the catch-up after
 *	                   a missing slot, and the proof that a gap is a hole
 *
 * Copyright (c) 2026, the event_store authors
 *
 * client/es_tail.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ES_TAIL_H
#define ES_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

typedef uint64_t lsn_t;

#define LSN_HI(lsn) ((unsigned) ((lsn) >> 32))
#define LSN_LO(lsn) ((unsigned) (lsn))

/*
 * A run of delivered positions lo..hi.  lsn is the commit LSN (on the
 * timeline in EsState.timeline) of the newest transaction that contributed
 * to the run while it is recent, 0 once it is settled: old enough that any
 * standby which could be promoted has it (see es_tail_state.c).
 */
typedef struct EsRange
{
	int64_t		lo;
	int64_t		hi;
	lsn_t		lsn;
} EsRange;

typedef struct EsState
{
	char	   *path;			/* NULL: no --state-file, nothing is kept */
	uint64_t	system;			/* the cluster's system identifier, 0 unknown */
	uint32_t	timeline;		/* the timeline the recent LSNs are on */
	lsn_t		confirmed;		/* the last LSN acknowledged to the server */
	int64_t		low;			/* every position <= low is accounted for */
	lsn_t		newest;			/* the newest commit LSN recorded */
	lsn_t		settled_upto;	/* the newest commit LSN that was settled */
	EsRange    *ranges;			/* sorted, disjoint, all above low */
	int			nranges;
	int			cap;
	bool		dirty;			/* changed since it was last saved */
} EsState;

/* the filters of the output plugin, for reading the table the same way */
typedef struct EsFilters
{
	char	  **streams;
	int			nstreams;
	char	  **categories;
	int			ncategories;
	char	  **event_types;
	int			nevent_types;
	bool		compact;		/* format=compact */
} EsFilters;

/* es_tail.c */
extern const char *progname;
extern void es_fatal(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));
extern void es_fail(PGresult *res, const char *fmt,...) __attribute__((format(printf, 2, 3), noreturn));
extern void es_warn(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void es_note(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void es_out_line(const char *data, size_t len);

/* es_tail_state.c */
extern void es_state_load(EsState *state, const char *path);
extern void es_state_save(EsState *state);
extern bool es_state_contains(const EsState *state, int64_t pos);
extern void es_state_add(EsState *state, int64_t lo, int64_t hi, lsn_t lsn);
extern void es_state_settle(EsState *state, uint64_t window);
extern int	es_state_forget_from(EsState *state, lsn_t from);
extern int64_t es_state_top(const EsState *state);
extern bool es_state_next_gap(const EsState *state, int64_t after,
							  int64_t *lo, int64_t *hi);

/* es_tail_table.c */
extern bool es_slot_exists(PGconn *conn, const char *slot);
extern lsn_t es_create_slot_and_catch_up(PGconn *conn, const char *slot,
										 EsState *state, const EsFilters *filters);
extern void es_fill_holes(PGconn *conn, EsState *state, const EsFilters *filters);
extern lsn_t es_parse_lsn(const char *text);

#endif							/* ES_TAIL_H */
