/*-------------------------------------------------------------------------
 *
 * event_store.h
 *	  What the C files of event_store share: SQLSTATEs, cached catalog OIDs,
 *	  the lock tags of the append/read protocol and small helpers.  The
 *	  event row has its own header, events.h.
 *
 * Like PostgreSQL's own headers, this one expects postgres.h to have been
 * included first, by the .c file.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/event_store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENT_STORE_H
#define EVENT_STORE_H

#include "executor/spi.h"
#include "storage/lock.h"
#include "fmgr.h"
#include "executor/tuptable.h"
#include "datatype/timestamp.h"
#include "utils/rel.h"
#include "utils/snapshot.h"
#include "utils/tuplestore.h"

/* SQLSTATEs of SPEC "Errors" */
#define ERRCODE_ES_WRONG_VERSION	MAKE_SQLSTATE('E','S','0','0','1')
#define ERRCODE_ES_STREAM_DELETED	MAKE_SQLSTATE('E','S','0','0','2')
#define ERRCODE_ES_DUPLICATE_EVENT	MAKE_SQLSTATE('E','S','0','0','3')
#define ERRCODE_ES_INVALID_ARGUMENT	MAKE_SQLSTATE('E','S','0','0','4')

#define ES_MAX_STREAM_NAME_BYTES	1024

/*
 * Positions are grouped in buckets for the no-gap protocol (horizon.c).  The
 * size is part of the on-line protocol between appenders and readers of one
 * cluster, not of the stored data: changing it needs all backends restarted.
 */
#define ES_BUCKET_SHIFT				10	/* 1024 positions per bucket */
#define ES_BUCKET_OF(pos)			((int64) (pos) >> ES_BUCKET_SHIFT)
#define ES_BUCKET_FIRST(bucket)		((int64) (bucket) << ES_BUCKET_SHIFT)
#define ES_BUCKET_LAST(bucket)		((((int64) (bucket) + 1) << ES_BUCKET_SHIFT) - 1)

/*
 * Our advisory locks use their own values of locktag field4 (the SQL-level
 * advisory functions use 1 and 2), so they never collide with an
 * application's pg_advisory_lock keys.  pg_locks shows them as locktype
 * "advisory" with objsubid 17665 (streams), 17666 (buckets), 17670 (commits
 * not yet flushed), 17667 and 17669
 * (the notifier's).
 */
#define ES_LOCKTAG_STREAM			0x4501
#define ES_LOCKTAG_BUCKET			0x4502
#define ES_LOCKTAG_NOTIFIER			0x4503	/* notifier.c */
#define ES_LOCKTAG_WAITERS			0x4504	/* wait_for_events (wait.c) */
#define ES_LOCKTAG_NOTIFIER_SHM		0x4505	/* notifier.c: its segment's handle */
#define ES_LOCKTAG_UNFLUSHED		0x4506	/* commit.c: commits not yet flushed */

/* Column numbers of event_store.streams */
#define Anum_streams_stream_name	2
#define Anum_streams_stream_version	4
#define Anum_streams_deleted_version	6
#define Anum_streams_tombstoned_at	7
#define Anum_streams_max_count		8
#define Anum_streams_max_age		9
#define Anum_streams_truncate_before	10

/* OIDs looked up once per backend; reset when any of them goes away */
typedef struct EsCatalog
{
	Oid			namespace;
	Oid			events;
	Oid			events_pkey;
	Oid			events_category_idx;
	Oid			events_stream_version_idx;
	Oid			streams;
	Oid			streams_name_idx;
	Oid			position_seq;
} EsCatalog;

/* What the store says of a stream (stream.c) */
typedef struct EsStreamState
{
	bool		has_row;		/* it has a row in event_store.streams */
	int64		version;		/* the version of the last event written */
	int64		deleted_version;	/* soft-delete mark (0: none) */
	bool		tombstoned;		/* hard-deleted */
	int64		max_count;		/* retention limits (0 / NULL: none) */
	int64		truncate_before;
	Interval   *max_age;
} EsStreamState;

/*
 * Whether a stream exists in SPEC's sense (expected version -2, reads): a
 * soft-deleted stream looks like one that does not exist until appended to,
 * though it keeps its row (has_row).
 */
#define ES_STREAM_EXISTS(state) \
	((state)->has_row && (state)->version > (state)->deleted_version)

/*
 * What the readers of a stream see of it (stream.c: es_stream_view): the
 * events from min_version on, created at or after not_before.  scavenge()
 * removes exactly the others.
 */
typedef struct EsStreamView
{
	int64		version;		/* current version, 0 if it looks absent */
	int64		min_version;	/* lower versions are hidden */
	TimestampTz not_before;		/* events created earlier are hidden */
} EsStreamView;

/*
 * The streams es_stream_view can hide anything of, as a condition on a row
 * of event_store.streams: those with a deletion mark or a limit.  Lets
 * scavenge() skip the others without reading them.  Keep it with
 * es_stream_view.
 */
#define ES_STREAM_MAY_HIDE_SQL \
	"(deleted_version IS NOT NULL OR truncate_before IS NOT NULL" \
	" OR max_count IS NOT NULL OR max_age IS NOT NULL)"

/* event_store.notify */
typedef enum EsNotifyMode
{
	ES_NOTIFY_OFF,
	ES_NOTIFY_COMMIT,				/* NOTIFY in the appending transaction */
	ES_NOTIFY_ASYNC					/* the notifier sends it after commit */
} EsNotifyMode;

/* event_store.c */
extern int	es_notify;

/* catalog.c */
extern const EsCatalog *es_catalog(void);

/* plans.c */
extern SPIPlanPtr es_prepare(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern Datum es_array_of(Datum *elems, bool *nulls, int n, Oid type);

/* args.c */
extern char *es_stream_name_arg(FunctionCallInfo fcinfo, int argno);
extern int64 es_expected_version_arg(FunctionCallInfo fcinfo, int argno,
									  const char *stream, const char *action);
extern int32 es_max_count_arg(FunctionCallInfo fcinfo, int argno, const char *source);

/* names.c */
extern void es_check_stream_name(const char *name, int len);
extern char *es_category_of(const char *name, int len);
extern int64 es_stream_hash_of(text *name);

/* stream.c */
extern EsStreamState es_lock_stream(const char *stream, Datum name);
extern EsStreamState es_stream_state(Datum name, Snapshot snapshot, bool need_version);
extern void es_stream_version_hint(Datum name, int64 version);
extern void es_check_expected_version(const char *stream, int64 expected,
									  EsStreamState *state);
extern void es_report_tombstone(const char *stream) pg_attribute_noreturn();
extern void es_stream_view(const EsStreamState *state, EsStreamView *view);

/* commit.c */
extern void es_acquire_stream_lock(const LOCKTAG *tag);
extern void es_keep_stream_locks_to_end(void);
extern void es_wait_durable(void);

/* notifier.c */
extern bool es_notifier_will_notify(void);
extern bool es_notifier_mark(const int64 *positions, int n);
extern void es_notifier_start(void);
extern void es_send_notification(const char *stream, int64 first, int64 last,
								 int64 position);

/* uuid7.c */
extern void es_uuid7(unsigned char *out);

/*
 * What a gap-free read of the log returns (feed.c): $all or one category,
 * optionally one consumer-group member's streams, some event types, streams
 * with a name prefix.  Unused parts are NULL / 0.
 */
typedef struct EsFeed
{
	const char *category;		/* NULL: $all */
	int32		group_member;	/* with group_size > 0: member k of n */
	int32		group_size;
	Datum	   *types;			/* text datums, distinct, in order */
	int			ntypes;			/* 0: every type */
	const char *prefix;			/* NULL: every stream */
	int			prefix_len;
} EsFeed;

/* read.c: the arguments of read_all_forward / read_category_forward, checked */
typedef void (*EsFeedArgs) (FunctionCallInfo fcinfo, EsFeed *feed, int64 *from,
							int32 *max_count);
extern void es_all_feed_args(FunctionCallInfo fcinfo, EsFeed *feed, int64 *from,
							 int32 *max_count);
extern void es_category_feed_args(FunctionCallInfo fcinfo, EsFeed *feed, int64 *from,
								  int32 *max_count);

/* feed_scan.c */
extern void es_feed_scan_init(void);

/* results.c */
extern void es_init_result_set(FunctionCallInfo fcinfo);

/* feed.c */
extern void es_read_feed(Tuplestorestate *store, TupleDesc desc, const EsFeed *feed,
						 int64 from, int32 max_count);
typedef struct EsFeedIter EsFeedIter;
extern EsFeedIter *es_feed_begin(const EsFeed *feed, int64 from, int32 max_count);
extern TupleTableSlot *es_feed_next(EsFeedIter *it);
extern void es_feed_end(EsFeedIter *it);

/*
 * A reader's gap checks over one read (horizon.c), for readers that walk
 * an MVCC snapshot (the notifier); feed.c does them in its own pass.
 */
typedef struct EsGapCheck
{
	Snapshot	snapshot;		/* the snapshot the reader's rows came from */
	const char *category;		/* NULL when reading $all */
	Relation	heap;
	Relation	pkey;
	Relation	category_idx;
	TupleTableSlot *slot;
	int64		free_bucket;	/* highest bucket seen free so far */
	bool		late;			/* stopped at a commit newer than the snapshot */
} EsGapCheck;

/* horizon.c */
extern void es_gap_check_begin(EsGapCheck *gap, Snapshot snapshot, const char *category);
extern int64 es_gap_check(EsGapCheck *gap, int64 lo, int64 hi);
extern void es_gap_check_end(EsGapCheck *gap);
extern int64 es_first_missing(Relation heap, Relation pkey, Snapshot snapshot,
							  TupleTableSlot *slot, int64 lo, int64 hi);
extern void es_lock_bucket_shared(int64 bucket);
extern bool es_bucket_is_busy(int64 bucket);
extern int64 es_last_drawn_position(Oid seq);
extern int64 es_last_inserted_position(Relation heap, Relation pkey, TupleTableSlot *slot);

/* duplicate.c */
extern void es_rethrow_duplicate_id(const char *stream, ErrorData *edata) pg_attribute_noreturn();

/* wait.c */
extern void es_wake_waiters_at_end(void);

/* What a direct reader returns, through row-level security (policy.c) */
typedef struct EsPolicyFeed
{
	bool		active;			/* policies on events apply to the caller */
	Tuplestorestate *store;		/* the result, of type recorded_event */
	TupleDesc	desc;
	const char *category;		/* NULL: $all */
	bool		whole_range;	/* no filter but the category: read ranges */
	int64		first;			/* whole_range: the accepted range */
	int64		last;
	int64	   *positions;		/* otherwise: the accepted positions */
	int32		count;			/* accepted, not yet read back */
	int32		batch;			/* read back when this many are kept */
	int64		walked;			/* accepted and read back so far */
	int64		shown;			/* of those, what the policies let through */
} EsPolicyFeed;

/* policy.c */
extern bool es_policy_applies(void);
extern void es_policy_begin(EsPolicyFeed *pf, Tuplestorestate *store, TupleDesc desc,
							int32 max_count, const char *category, bool whole_range);
extern int32 es_policy_add(EsPolicyFeed *pf, Snapshot snapshot, int64 position,
						   int32 max_count);
extern int32 es_policy_flush(EsPolicyFeed *pf, Snapshot snapshot, int32 max_count);
extern void es_policy_end(EsPolicyFeed *pf);
extern int64 es_policy_stream_version(const char *stream, int64 min_version, int64 version);

/* decode_access.c */
extern void es_check_decode_access(Oid events_relid);
extern void es_check_decode_access_by_name(void);

#endif							/* EVENT_STORE_H */
