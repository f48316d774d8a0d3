/*-------------------------------------------------------------------------
 *
 * feed.c
 *	  Reading the log in global-position order, gap-free: $all or one
 *	  category, optionally one consumer-group member's streams, only some
 *	  event types, only streams with a name prefix.  read_all_forward and
 *	  read_category_forward (read.c) read it into their result sets
 *	  (es_read_feed); called in FROM, feed_scan.c reads it row by row
 *	  (es_feed_begin/next/end).
 *
 * One pass over the index that selects the most: the type index
 * (event_type, global_position) when types are given (one scan per type,
 * merged by position), else the category index (the category read's, or the
 * one a prefix such as "order-1" names), else the primary key.  The scans see
 * every index entry (SnapshotAny) and sort each row into one of three:
 *
 *	 - in the reader's snapshot: returned if it matches the filter;
 *	 - not in the snapshot, but committed or in flight (the dirty snapshot
 *	   shows it): if it matches, the read stops before it, since it is an
 *	   event the reader must not pass; a READ COMMITTED reader looks again
 *	   with a fresh snapshot;
 *	 - dead (rolled back, scavenged): passed.
 *
 * Positions with no row at all may be drawn by a transaction still open:
 * the scans only ever run over a window of positions whose buckets were
 * probed (horizon.c) after the snapshot was taken and before the scan reads
 * them.  In a free bucket every position drawn before the snapshot belongs
 * to an ended transaction, so whatever it committed is in the index by the
 * time the scan passes; at a busy bucket the window ends at the first
 * position the snapshot lacks.  The window doubles as the read goes (up to
 * ES_FEED_MAX_WINDOW buckets), so a rare type costs few probes and rescans.
 *
 * Each row is looked at once: a consumer-group member or a filtered reader
 * pays for the rows it passes over one index entry and one heap visit each,
 * never again for gap checks (docs/concepts.md).
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/feed.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "event_store.h"
#include "events.h"

/*
 * How often a READ COMMITTED reader that stopped at a commit newer than its
 * snapshot looks again with a fresh one before returning what it has.
 */
#define ES_MAX_FRESH_SNAPSHOTS		4

/* The largest window of positions scanned at once, in buckets */
#define ES_FEED_MAX_WINDOW			64

/* One index scan of the merge */
typedef struct FeedScan
{
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData key[3];
	int			nkeys;			/* the equality key (if any) and the window */
	bool		has_row;		/* slot holds the scan's next row */
	int64		pos;			/* its position */
} FeedScan;

/* A consumer group member's verdict on one stream, cached for the read */
typedef struct MemberEntry
{
	uint32		hash;			/* key: hash_bytes of the name */
	int			nnames;
	struct MemberName
	{
		text	   *name;
		bool		member;
	}		   *names;
} MemberEntry;

typedef struct FeedRead
{
	const EsFeed *feed;
	Relation	heap;
	Relation	pkey;
	Relation	index;
	Snapshot	snapshot;
	SnapshotData dirty;
	FeedScan   *scans;
	int			nscans;
	int64		free_bucket;	/* highest bucket seen free this round */
	HTAB	   *members;
	bool		copy_rows;		/* the table is our columns: es_put_stored_event */
	bool		desc_checked;	/* the result is recorded_event (first row) */
} FeedRead;

/* Where one round of a read is: one snapshot's walk over the windows */
typedef struct FeedRound
{
	int64		last;			/* the last position inserted at its start */
	int64		limit;			/* the windows so far end before it */
	int			window;			/* the next window's size, in buckets */
	bool		stopped;		/* at a busy bucket: no window after this one */
	bool		late;			/* stopped at a commit newer than the snapshot */
} FeedRound;

/* A read handed out row by row (es_feed_next) */
struct EsFeedIter
{
	FeedRead	r;
	FeedRound	round;
	int64		from;			/* the next position wanted */
	int32		max_count;		/* rows still wanted */
	int			rounds;			/* rounds begun */
	CommandId	curcid;			/* the first round's command */
	bool		in_round;
	FeedScan   *handed_out;		/* its row was returned: advance it first */
};

static void feed_open(FeedRead *r, const EsFeed *feed);
static void feed_close(FeedRead *r);
static void round_begin(FeedRead *r, FeedRound *round, int64 from);
static FeedScan *round_next(FeedRead *r, FeedRound *round, int32 max_count);
static bool feed_round(FeedRead *r, EsPolicyFeed *policy, Tuplestorestate *store,
					   TupleDesc desc, int64 *from, int32 *max_count);
static bool another_round(int rounds, bool late, int32 max_count);
static int64 feed_next_window(FeedRead *r, int64 lo, int window, int64 last, bool *stopped);
static bool feed_window(FeedRead *r, int64 lo, int64 hi);
static void scan_advance(FeedRead *r, FeedScan *s);
static bool row_matches(FeedRead *r, TupleTableSlot *slot);
static bool is_member(FeedRead *r, text *name);

/*
 * The category a read can walk the category index for: its own, or the one
 * a stream prefix with a '-' names (every matching stream is in it).
 */
static const char *
driving_category(const EsFeed *feed)
{
	const char *dash;

	if (feed->category)
		return feed->category;
	if (feed->prefix && (dash = memchr(feed->prefix, '-', feed->prefix_len)) != NULL)
		return pnstrdup(feed->prefix, dash - feed->prefix);
	return NULL;
}

/*
 * Open a read of the feed.  Checks SELECT on the events table (the scans
 * bypass the executor, which would otherwise check it).
 */
static void
feed_open(FeedRead *r, const EsFeed *feed)
{
	const EsCatalog *cat = es_catalog();
	const char *category = driving_category(feed);
	int			i;

	if (pg_class_aclcheck(cat->events, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "events");
	memset(r, 0, sizeof(FeedRead));
	r->feed = feed;
	InitDirtySnapshot(r->dirty);
	r->heap = table_open(cat->events, AccessShareLock);
	r->pkey = index_open(cat->events_pkey, AccessShareLock);
	r->copy_rows = RelationGetDescr(r->heap)->natts == Natts_events &&
		es_event_desc_mismatch(RelationGetDescr(r->heap)) == 0;

	if (feed->ntypes > 0)
	{
		Oid			type_idx = get_relname_relid("events_type_position_idx", cat->namespace);

		if (!OidIsValid(type_idx))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("index \"event_store.events_type_position_idx\" does not exist"),
					 errhint("Update the extension: ALTER EXTENSION event_store UPDATE.")));
		r->index = index_open(type_idx, AccessShareLock);
		r->nscans = feed->ntypes;
	}
	else
	{
		r->index = category ? index_open(cat->events_category_idx, AccessShareLock) : r->pkey;
		r->nscans = 1;
	}

	r->scans = palloc0(sizeof(FeedScan) * r->nscans);
	for (i = 0; i < r->nscans; i++)
	{
		FeedScan   *s = &r->scans[i];
		Datum		eq = (Datum) 0;

		if (feed->ntypes > 0)
			eq = feed->types[i];
		else if (category)
			eq = CStringGetTextDatum(category);
		/* (type or category =) and the window: position >= lo, < hi */
		if (eq)
		{
			ScanKeyInit(&s->key[0], 1, BTEqualStrategyNumber, F_TEXTEQ, eq);
			s->key[0].sk_collation = r->index->rd_indcollation[0];
			s->nkeys = 1;
		}
		ScanKeyInit(&s->key[s->nkeys], s->nkeys + 1, BTGreaterEqualStrategyNumber,
					F_INT8GE, Int64GetDatum(0));
		ScanKeyInit(&s->key[s->nkeys + 1], s->nkeys + 1, BTLessStrategyNumber,
					F_INT8LT, Int64GetDatum(0));
		s->nkeys += 2;
		s->slot = table_slot_create(r->heap, NULL);
	}
}

static void
feed_close(FeedRead *r)
{
	int			i;

	for (i = 0; i < r->nscans; i++)
	{
		if (r->scans[i].scan)
			index_endscan(r->scans[i].scan);
		ExecDropSingleTupleTableSlot(r->scans[i].slot);
	}
	if (r->members)
		hash_destroy(r->members);
	if (r->index != r->pkey)
		index_close(r->index, AccessShareLock);
	index_close(r->pkey, AccessShareLock);
	table_close(r->heap, AccessShareLock);
}

/*
 * Start every scan over positions [lo, hi).
 */
static bool
feed_window(FeedRead *r, int64 lo, int64 hi)
{
	bool		any = false;
	int			i;

	for (i = 0; i < r->nscans; i++)
	{
		FeedScan   *s = &r->scans[i];

		s->key[s->nkeys - 2].sk_argument = Int64GetDatum(lo);
		s->key[s->nkeys - 1].sk_argument = Int64GetDatum(hi);
		if (s->scan == NULL)
			s->scan = index_beginscan(r->heap, r->index, SnapshotAny, s->nkeys, 0);
		index_rescan(s->scan, s->key, s->nkeys, NULL, 0);
		scan_advance(r, s);
		any |= s->has_row;
	}
	return any;
}

static void
scan_advance(FeedRead *r, FeedScan *s)
{
	s->has_row = index_getnext_slot(s->scan, ForwardScanDirection, s->slot);
	if (s->has_row)
	{
		bool		isnull;

		s->pos = DatumGetInt64(slot_getattr(s->slot, Anum_events_global_position, &isnull));
	}
}

/* Does this row pass the filters the driving index does not apply? */
static bool
row_matches(FeedRead *r, TupleTableSlot *slot)
{
	const EsFeed *feed = r->feed;
	bool		isnull;

	if (feed->category && feed->ntypes > 0)
	{
		text	   *category = DatumGetTextPP(slot_getattr(slot, Anum_events_category, &isnull));

		if (VARSIZE_ANY_EXHDR(category) != strlen(feed->category) ||
			memcmp(VARDATA_ANY(category), feed->category, VARSIZE_ANY_EXHDR(category)) != 0)
			return false;
	}
	if (feed->prefix || feed->group_size > 0)
	{
		text	   *name = DatumGetTextPP(slot_getattr(slot, Anum_events_stream_name, &isnull));

		if (feed->prefix &&
			((int) VARSIZE_ANY_EXHDR(name) < feed->prefix_len ||
			 memcmp(VARDATA_ANY(name), feed->prefix, feed->prefix_len) != 0))
			return false;
		if (feed->group_size > 0 && !is_member(r, name))
			return false;
	}
	return true;
}

/*
 * Is this stream one of the group member's?  stream_hash is an MD5, so the
 * verdict is kept per stream for the rest of the read.
 */
static bool
is_member(FeedRead *r, text *name)
{
	uint32		h = hash_bytes((const unsigned char *) VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
	MemberEntry *entry;
	bool		found;
	bool		member;
	int			i;

	if (r->members == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(uint32);
		ctl.entrysize = sizeof(MemberEntry);
		ctl.hcxt = CurrentMemoryContext;
		r->members = hash_create("event_store group members", 256, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(r->members, &h, HASH_ENTER, &found);
	if (!found)
	{
		entry->nnames = 0;
		entry->names = NULL;
	}
	for (i = 0; i < entry->nnames; i++)
		if (VARSIZE_ANY_EXHDR(entry->names[i].name) == VARSIZE_ANY_EXHDR(name) &&
			memcmp(VARDATA_ANY(entry->names[i].name), VARDATA_ANY(name),
				   VARSIZE_ANY_EXHDR(name)) == 0)
			return entry->names[i].member;

	member = es_stream_hash_of(name) % r->feed->group_size == r->feed->group_member;
	entry->names = entry->names ?
		repalloc(entry->names, sizeof(struct MemberName) * (entry->nnames + 1)) :
		palloc(sizeof(struct MemberName));
	entry->names[entry->nnames].name = (text *) pg_detoast_datum_copy((struct varlena *) name);
	entry->names[entry->nnames].member = member;
	entry->nnames++;
	return member;
}

/*
 * Is another round of a read due, after 'rounds' of them, the last one
 * 'late'?  Look again only where a fresh snapshot can show more: a round
 * stopped at a commit newer than its snapshot, and this isolation level
 * lets us.
 */
static bool
another_round(int rounds, bool late, int32 max_count)
{
	if (max_count <= 0 || rounds == ES_MAX_FRESH_SNAPSHOTS)
		return false;
	return rounds == 0 || (late && !IsolationUsesXactSnapshot());
}

/*
 * Put up to max_count events of the feed from position 'from' on into the
 * tuplestore (rows of event_store.recorded_event), stopping before any
 * position the no-gap rule cannot settle; then flush past any commit it
 * may have shown early (commit.c).
 */
void
es_read_feed(Tuplestorestate *store, TupleDesc desc, const EsFeed *feed,
			 int64 from, int32 max_count)
{
	FeedRead	r;
	int			rounds;
	bool		late = false;
	EsPolicyFeed policy;

	feed_open(&r, feed);
	/* row-level security: what is returned goes through it (policy.c) */
	es_policy_begin(&policy, store, desc, max_count, feed->category,
					feed->group_size == 0 && feed->ntypes == 0 && feed->prefix == NULL);
	if (from < 1)
		from = 1;

	for (rounds = 0; another_round(rounds, late, max_count); rounds++)
		late = feed_round(&r, &policy, store, desc, &from, &max_count);

	feed_close(&r);
	es_policy_end(&policy);
	es_wait_durable();
}

/*
 * Begin a round of a read with a new snapshot (in READ COMMITTED each round
 * reads with a new one), from position 'from' on.
 */
static void
round_begin(FeedRead *r, FeedRound *round, int64 from)
{
	r->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	round->last = es_last_inserted_position(r->heap, r->pkey, r->scans[0].slot);
	round->limit = from;
	round->window = 1;
	round->stopped = false;
	round->late = false;
	r->free_bucket = -1;
	for (int i = 0; i < r->nscans; i++)
		r->scans[i].has_row = false;
}

/*
 * The scan holding the round's next matching row in its snapshot, window by
 * window; NULL when max_count is used up, the log ends, or at a position
 * the no-gap rule cannot settle (round->late: a commit newer than the
 * snapshot).  The caller advances the scan once done with the row.
 */
static FeedScan *
round_next(FeedRead *r, FeedRound *round, int32 max_count)
{
	while (max_count > 0)
	{
		FeedScan   *s = NULL;
		int			i;

		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < r->nscans; i++)
			if (r->scans[i].has_row && (s == NULL || r->scans[i].pos < s->pos))
				s = &r->scans[i];

		if (s == NULL)
		{
			/* The window is done: settle the next one and scan it. */
			if (round->limit > round->last || round->stopped)
				break;
			round->limit = feed_next_window(r, round->limit, round->window, round->last,
											&round->stopped);
			round->window = Min(round->window * 2, ES_FEED_MAX_WINDOW);
			continue;
		}

		/* The row with the lowest position of all scans */
		if (!table_tuple_satisfies_snapshot(r->heap, s->slot, r->snapshot))
		{
			/* committed since our snapshot, or in flight: stop if ours */
			if (table_tuple_satisfies_snapshot(r->heap, s->slot, &r->dirty) &&
				row_matches(r, s->slot))
			{
				round->late = true;
				break;
			}
			scan_advance(r, s);
			continue;
		}
		if (row_matches(r, s->slot))
			return s;
		scan_advance(r, s);
	}
	return NULL;
}

/*
 * One round of a read into a tuplestore: the matching events from *from on
 * until *max_count is used up, the log ends, or a position the no-gap rule
 * cannot settle.  Advances *from and *max_count.  Returns true when it
 * stopped at a commit newer than its snapshot.
 */
static bool
feed_round(FeedRead *r, EsPolicyFeed *policy, Tuplestorestate *store, TupleDesc desc,
		   int64 *from, int32 *max_count)
{
	FeedRound	round;
	FeedScan   *s;

	round_begin(r, &round, *from);
	while ((s = round_next(r, &round, *max_count)) != NULL)
	{
		if (policy->active)
			*max_count -= es_policy_add(policy, r->snapshot, s->pos, *max_count);
		else
		{
			if (r->copy_rows)
			{
				if (!r->desc_checked)
					es_check_recorded_desc(desc);
				r->desc_checked = true;
				es_put_stored_event(store, desc, RelationGetDescr(r->heap),
									ExecFetchSlotHeapTuple(s->slot, false, NULL));
			}
			else
			{
				slot_getallattrs(s->slot);
				es_put_recorded_event(store, desc, s->slot->tts_values, s->slot->tts_isnull);
			}
			(*max_count)--;
		}
		*from = s->pos + 1;
		scan_advance(r, s);
	}
	if (policy->active)
		*max_count -= es_policy_flush(policy, r->snapshot, *max_count);
	UnregisterSnapshot(r->snapshot);

	return round.late;
}

/*
 * A read handed out row by row, for a caller that uses each row before it
 * asks for the next (feed_scan.c): no tuplestore, no copy.  NULL when it
 * cannot be read that way: row-level security applies (the rows go through
 * policy.c), or the table is not exactly our columns.
 */
EsFeedIter *
es_feed_begin(const EsFeed *feed, int64 from, int32 max_count)
{
	EsFeedIter *it;

	if (es_policy_applies())
		return NULL;

	it = palloc0(sizeof(EsFeedIter));
	feed_open(&it->r, feed);
	if (!it->r.copy_rows)
	{
		feed_close(&it->r);
		pfree(it);
		return NULL;
	}
	it->from = Max(from, 1);
	it->max_count = max_count;
	return it;
}

/*
 * The read's next row, as a slot holding the events table's tuple (valid
 * until the next call), or NULL at its end.  Before a round hands out its
 * first row, the WAL is flushed past any commit its snapshot shows early
 * (commit.c).
 */
TupleTableSlot *
es_feed_next(EsFeedIter *it)
{
	FeedRead   *r = &it->r;
	FeedScan   *s;

	if (it->handed_out)
	{
		scan_advance(r, it->handed_out);
		it->handed_out = NULL;
	}
	for (;;)
	{
		if (!it->in_round)
		{
			if (!another_round(it->rounds, it->round.late, it->max_count))
				return NULL;
			round_begin(r, &it->round, it->from);

			/*
			 * A later round begins at a later call, maybe after the
			 * transaction wrote more (a cursor fetched between appends, a
			 * loop that appends): it sees the transaction as of the first
			 * round, as the rounds of one function call do.  Its own later
			 * events then look in flight, and the read stops before them.
			 */
			if (it->rounds == 0)
				it->curcid = r->snapshot->curcid;
			else
			{
				/*
				 * Only READ COMMITTED reads a later round, and there the
				 * registered snapshot is our own copy, not the transaction's.
				 */
				Assert(!IsolationUsesXactSnapshot());
				r->snapshot->curcid = it->curcid;
			}
			es_wait_durable();
			it->rounds++;
			it->in_round = true;
		}
		s = round_next(r, &it->round, it->max_count);
		if (s != NULL)
		{
			it->max_count--;
			it->from = s->pos + 1;
			it->handed_out = s;
			return s->slot;
		}
		UnregisterSnapshot(r->snapshot);
		it->in_round = false;
	}
}

void
es_feed_end(EsFeedIter *it)
{
	if (it->in_round)
		UnregisterSnapshot(it->r.snapshot);
	feed_close(&it->r);
	pfree(it);
}

/*
 * The window after the last one, from lo on: at most 'window' buckets and
 * not past 'last', ending before the first position a busy bucket may still
 * fill (then *stopped: no window after it this round).  Starts its scans
 * and returns its end (exclusive).
 */
static int64
feed_next_window(FeedRead *r, int64 lo, int window, int64 last, bool *stopped)
{
	int64		limit = Min(ES_BUCKET_FIRST(ES_BUCKET_OF(lo) + window), last + 1);
	int64		bucket;

	for (bucket = ES_BUCKET_OF(lo); bucket <= ES_BUCKET_OF(limit - 1); bucket++)
	{
		if (bucket <= r->free_bucket)
			continue;
		if (!es_bucket_is_busy(bucket))
		{
			r->free_bucket = bucket;
			continue;
		}
		/* a busy bucket: up to the first position we lack */
		limit = es_first_missing(r->heap, r->pkey, r->snapshot, r->scans[0].slot,
								 Max(lo, ES_BUCKET_FIRST(bucket)),
								 Min(limit - 1, ES_BUCKET_LAST(bucket)));
		*stopped = true;
		break;
	}
	if (limit > lo)
		(void) feed_window(r, lo, limit);
	return limit;
}
