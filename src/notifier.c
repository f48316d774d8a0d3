/*-------------------------------------------------------------------------
 *
 * notifier.c
 *	  event_store.notify = async: one background worker per database sends
 *	  the appends' notifications just after they commit.
 *
 * PostgreSQL commits notifying transactions one at a time (a database-wide
 * lock is held from PreCommit_Notify through the commit record's flush), so
 * a NOTIFY inside every append halves append throughput at 8+ clients.  With
 * async, appenders send nothing: they wake the notifier when their
 * transaction ends, and the notifier reads what committed, in global
 * position order up to the gap-free horizon of horizon.c (so a payload never
 * names a position a $all reader could not read yet), and sends the same
 * JSON payloads on the same channel from a transaction of its own, one per
 * stream and pass: when busy, several appends to one stream become one
 * notification covering their versions.
 *
 * Without shared_preload_libraries no shared memory is ours, so the pieces
 * are found through what PostgreSQL already shares:
 *
 *	 - The worker is a dynamic background worker, registered by the first
 *	   append that finds none (BGW_NEVER_RESTART: if it dies, the next append
 *	   starts another).
 *	 - Appenders find it by its PGPROC: the proc array names each process's
 *	   database and whether it is a background worker, and the worker slots
 *	   its type.  Each appender caches the PGPROC and its pid and checks the
 *	   pid on every append (one memory read); it looks again only when the
 *	   pid changed.  Waking is SetLatch on that PGPROC's latch at the end of
 *	   the appending transaction, after its commit is visible.
 *	 - Two session advisory locks (locktag field4 ES_LOCKTAG_NOTIFIER) say
 *	   more: (0, 0) is held by the database's notifier from its start, so a
 *	   second one exits and appenders do not start a third; (pgprocno + 1,
 *	   pid) is taken once the worker has read the last drawn position, from
 *	   where it sends.  An appender relies on a worker only after seeing that
 *	   lock held, and draws its own positions after that, so they are above
 *	   the worker's starting point.  Until then it sends its notification
 *	   itself, at commit (a listener may get a notification twice while the
 *	   worker starts, never none).
 *	 - The worker creates a dynamic shared memory segment, publishes its
 *	   handle in the key of a third session lock (ES_LOCKTAG_NOTIFIER_SHM,
 *	   found through the lock table once per worker a session relies on) and
 *	   announces only the positions appenders marked there (NotifierShared):
 *	   appends made with off or commit are not announced by it.
 *	 - The worker leaves when it is in the way: every second (and when
 *	   woken) it checks, without waiting, that nobody wants its database
 *	   exclusively (DROP DATABASE, ALTER DATABASE RENAME, CREATE DATABASE
 *	   from it as a template; DROP DATABASE waits 5 s for others to leave)
 *	   and that the extension it started with is still there.  The same tick
 *	   also picks up commits no appender woke it for (COMMIT PREPARED from
 *	   another session).
 *
 * The worker does not start on a hot standby (nothing appends there), and
 * only after recovery when the server is promoted.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/notifier.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dlfcn.h>

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "port/atomics.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "event_store.h"
#include "events.h"

#define NOTIFIER_TYPE			"event_store notifier"
#define NOTIFIER_FUNCTION		"es_notifier_main"

/* events one pass reads before it sends what it has */
#define NOTIFIER_PAGE			1000
/* the worker's tick: exit checks and commits nobody woke it for */
#define NOTIFIER_TICK_MS		1000
/* first retry when stopped before a position that may still commit */
#define NOTIFIER_GAP_RETRY_MS	2
/*
 * Least time between two passes: under load the notifier would otherwise
 * run a transaction per commit (or, stopped before a position still in
 * flight, a useless one per commit), on the appenders' CPUs; this way a
 * pass covers the commits of the last few milliseconds (coalesced per
 * stream), at that much added latency.  After a quiet spell the first
 * commit is sent at once.
 */
#define NOTIFIER_MIN_PASS_MS	2
/* an appender that could not start a worker tries again after this */
#define NOTIFIER_RETRY_START_MS	1000

/*
 * What the notifier shares with the appenders that rely on it, in a dynamic
 * shared memory segment it creates: which positions want a notification.
 * An append with notify = async sets the bits of its positions before it
 * commits; the notifier announces an event only if its bit is set, and
 * clears the bits of every position it passes (events and holes alike).  So
 * appends made with off or commit while a notifier runs are not announced
 * by it.  The bits cover NOTIFIER_WINDOW positions from 'base', the first
 * position the notifier has not passed; an append drawn beyond that (the
 * notifier far behind) sends its notification itself, at commit.
 */
#define NOTIFIER_WINDOW			(1 << 20)	/* positions: 128 kB of bits */

typedef struct NotifierShared
{
	pg_atomic_uint64 base;
	pg_atomic_uint64 bits[NOTIFIER_WINDOW / 64];
} NotifierShared;

#define WANT_WORD(shared, pos)	(&(shared)->bits[((uint64) (pos) % NOTIFIER_WINDOW) / 64])
#define WANT_BIT(pos)			(UINT64CONST(1) << ((uint64) (pos) % 64))

/* Appender side: the worker this backend relies on, and its start-up */
static PGPROC *worker_proc = NULL;
static int	worker_pid = 0;
static dsm_segment *worker_segment = NULL;
static NotifierShared *worker_shared = NULL;
static BackgroundWorkerHandle *started = NULL;
static TimestampTz start_failed_at = 0;
static bool warned = false;
static bool wake_at_end = false;
static bool callback_registered = false;

/* One stream's share of a pass */
typedef struct StreamNote
{
	char		name[ES_MAX_STREAM_NAME_BYTES + 1];	/* hash key */
	int64		first;
	int64		last;
	int64		position;
} StreamNote;

typedef enum PassResult
{
	PASS_DONE,					/* sent everything committed so far */
	PASS_MORE,					/* a full page: read on */
	PASS_STUCK					/* stopped before a position still in flight */
} PassResult;

PGDLLEXPORT void es_notifier_main(Datum arg);

static void notifier_lock_tag(LOCKTAG *tag, uint32 key1, uint32 key2);
static bool lock_is_held(LOCKTAG *tag);
static bool find_ready_worker(void);
static dsm_handle find_shared_handle(int pid);
static void notifier_shared_lock_tag(LOCKTAG *tag, int pgprocno);
static const char *library_path(void);
static void notifier_xact_callback(XactEvent event, void *arg);
static bool database_wanted_elsewhere(void);
static PassResult notify_pass(Oid extension, NotifierShared *shared, int64 *cursor);
static int	note_position_cmp(const void *a, const void *b);

/*
 * NOTIFY event_store, '{"stream":…,"first":…,"last":…,"position":…}'.
 * Delivered when the sending transaction commits, dropped with a rollback.
 */
void
es_send_notification(const char *stream, int64 first, int64 last, int64 position)
{
	StringInfoData payload;

	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"stream\":");
	escape_json(&payload, stream);
	appendStringInfo(&payload, ",\"first\":%lld,\"last\":%lld,\"position\":%lld}",
					 (long long) first, (long long) last, (long long) position);
	Async_Notify("event_store", payload.data);
	pfree(payload.data);
}

static void
notifier_lock_tag(LOCKTAG *tag, uint32 key1, uint32 key2)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, key1, key2, ES_LOCKTAG_NOTIFIER);
}

/* Does another backend hold this lock?  Asks without waiting. */
static bool
lock_is_held(LOCKTAG *tag)
{
	if (LockAcquire(tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(tag, ShareLock, false);
	return false;
}

/*
 * Appender side, called by an append with event_store.notify = async before
 * it draws its positions.  Returns true when the notifier will send this
 * append's notification (it is woken when the transaction ends); false when
 * the caller must send it itself, at commit, and then call
 * es_notifier_start once it has drawn its positions.
 */
bool
es_notifier_will_notify(void)
{
	if (worker_proc == NULL || worker_proc->pid != worker_pid)
	{
		worker_proc = NULL;
		if (worker_segment != NULL)
		{
			dsm_detach(worker_segment);
			worker_segment = NULL;
			worker_shared = NULL;
		}
		if (!find_ready_worker())
			return false;
	}
	if (!callback_registered)
	{
		RegisterXactCallback(notifier_xact_callback, NULL);
		callback_registered = true;
	}
	wake_at_end = true;
	return true;
}

/*
 * Appender side, after es_notifier_will_notify said yes and the positions
 * were drawn (ascending): ask the notifier to announce them.  False when the
 * last is beyond its window: then the caller sends the notification itself,
 * at commit, and none of them is marked.
 */
bool
es_notifier_mark(const int64 *positions, int n)
{
	int			i;

	if (positions[n - 1] - (int64) pg_atomic_read_u64(&worker_shared->base) >= NOTIFIER_WINDOW)
		return false;
	for (i = 0; i < n; i++)
		pg_atomic_fetch_or_u64(WANT_WORD(worker_shared, positions[i]), WANT_BIT(positions[i]));
	return true;
}

/*
 * Look through the proc array for this database's notifier, and rely on it
 * only once it holds its ready lock.
 */
static bool
find_ready_worker(void)
{
	uint32		i;

	for (i = 0; i < ProcGlobal->allProcCount; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		int			pid = proc->pid;
		const char *type;
		LOCKTAG		tag;

		if (pid == 0 || !proc->isBackgroundWorker || proc->databaseId != MyDatabaseId)
			continue;
		type = GetBackgroundWorkerTypeByPid(pid);
		if (type == NULL || strcmp(type, NOTIFIER_TYPE) != 0)
			continue;
		notifier_lock_tag(&tag, proc->pgprocno + 1, pid);
		if (lock_is_held(&tag))
		{
			dsm_handle handle = find_shared_handle(pid);
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
			dsm_segment *seg;

			seg = handle == DSM_HANDLE_INVALID ? NULL : dsm_attach(handle);
			MemoryContextSwitchTo(old);
			if (seg == NULL)
				return false;	/* it is leaving; the next one will do */
			dsm_pin_mapping(seg);
			worker_segment = seg;
			worker_shared = dsm_segment_address(seg);
			worker_proc = proc;
			worker_pid = pid;
			return true;
		}
	}
	return false;
}

/*
 * The notifier publishes its segment's handle in the key of a session lock
 * it holds (ES_LOCKTAG_NOTIFIER_SHM: pgprocno + 1, handle).  Found by looking
 * through the lock table, once per notifier a session relies on.
 */
static void
notifier_shared_lock_tag(LOCKTAG *tag, int pgprocno)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, pgprocno + 1, 0, ES_LOCKTAG_NOTIFIER_SHM);
}

static dsm_handle
find_shared_handle(int pid)
{
	LockData   *locks = GetLockStatusData();
	dsm_handle	handle = DSM_HANDLE_INVALID;
	int			i;

	for (i = 0; i < locks->nelements; i++)
	{
		LockInstanceData *lock = &locks->locks[i];

		if (lock->pid == pid && lock->locktag.locktag_type == LOCKTAG_ADVISORY &&
			lock->locktag.locktag_field4 == ES_LOCKTAG_NOTIFIER_SHM &&
			lock->locktag.locktag_field1 == MyDatabaseId && lock->holdMask != 0)
		{
			handle = (dsm_handle) lock->locktag.locktag_field3;
			break;
		}
	}
	return handle;
}

/*
 * Register a notifier for this database, unless one is on its way (ours, or
 * anyone's holding the database's notifier lock) or we failed a moment ago;
 * one WARNING per session when none can start.  Called by an append that
 * sends its own notification, after it drew its positions, so that the
 * worker starts from above them and does not send that one again.
 */
void
es_notifier_start(void)
{
	BackgroundWorker worker;
	MemoryContext oldcxt;
	LOCKTAG		tag;
	pid_t		pid;
	bool		ok;

	if (started != NULL && GetBackgroundWorkerPid(started, &pid) != BGWH_STOPPED)
		return;
	if (start_failed_at != 0 &&
		!TimestampDifferenceExceeds(start_failed_at, GetCurrentTransactionStartTimestamp(),
									NOTIFIER_RETRY_START_MS))
		return;
	notifier_lock_tag(&tag, 0, 0);
	if (lock_is_held(&tag))
		return;

	if (started != NULL)
	{
		pfree(started);
		started = NULL;
	}

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, library_path(), BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, NOTIFIER_FUNCTION, BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "event_store notifier for database %u",
			 MyDatabaseId);
	strlcpy(worker.bgw_type, NOTIFIER_TYPE, BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = 0;

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, &started);
	MemoryContextSwitchTo(oldcxt);
	if (ok)
	{
		start_failed_at = 0;
		return;
	}

	started = NULL;
	start_failed_at = GetCurrentTransactionStartTimestamp();
	if (!warned)
	{
		warned = true;
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start the event_store notifier"),
				 errdetail("No background worker slot is free (max_worker_processes is %d).",
						   max_worker_processes),
				 errhint("Appends send their notifications at commit instead, as with "
						 "event_store.notify = commit, until a notifier runs.  Raise "
						 "max_worker_processes, or set event_store.notify to commit or off.")));
	}
}

/*
 * The file this code was loaded from, so that the worker runs the very
 * same build (a private install through extension_destdir included).
 */
static const char *
library_path(void)
{
	Dl_info		info;

	if (dladdr((void *) es_notifier_main, &info) != 0 && info.dli_fname != NULL &&
		strlen(info.dli_fname) < BGW_MAXLEN)
		return info.dli_fname;
	return "event_store";
}

/*
 * Wake the notifier when a transaction that relied on it ends: at commit its
 * events are visible; after a rollback or PREPARE their positions become
 * holes or stay in flight, which the notifier must look at again.
 */
static void
notifier_xact_callback(XactEvent event, void *arg)
{
	if (!wake_at_end)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			wake_at_end = false;
			if (worker_proc != NULL && worker_proc->pid == worker_pid)
				SetLatch(&worker_proc->procLatch);
			break;
		default:
			break;
	}
}

/*
 * Does someone want this database to ourselves (DROP DATABASE, ALTER
 * DATABASE RENAME, CREATE DATABASE from it as a template)?  They hold a lock
 * on it that conflicts with a connecting backend's; asks without waiting.
 */
static bool
database_wanted_elsewhere(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, MyDatabaseId, 0);
	if (LockAcquire(&tag, RowExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, RowExclusiveLock, true);
	return false;
}

/*
 * The notifier's main loop.
 */
void
es_notifier_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	Oid			extension;
	LOCKTAG		tag;
	int64		cursor;
	long		gap_wait = NOTIFIER_GAP_RETRY_MS;
	dsm_segment *segment;
	NotifierShared *shared;
	int			i;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	/*
	 * One notifier per database.  An appender asking whether one runs holds
	 * the lock for a moment; another notifier holds it for good.
	 */
	notifier_lock_tag(&tag, 0, 0);
	for (i = 0; LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL; i++)
	{
		if (i >= 50)
			proc_exit(0);
		CHECK_FOR_INTERRUPTS();
		pg_usleep(2000L);
	}

	/* our notifications need not wait for the disk */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	StartTransactionCommand();
	extension = get_extension_oid("event_store", true);
	cursor = OidIsValid(extension) ? es_last_drawn_position(es_catalog()->position_seq) : 0;
	CommitTransactionCommand();
	if (!OidIsValid(extension))
		proc_exit(0);

	/* The positions appenders want announced; published before we are ready */
	segment = dsm_create(sizeof(NotifierShared), 0);
	dsm_pin_mapping(segment);
	shared = dsm_segment_address(segment);
	pg_atomic_init_u64(&shared->base, cursor + 1);
	for (i = 0; i < NOTIFIER_WINDOW / 64; i++)
		pg_atomic_init_u64(&shared->bits[i], 0);
	notifier_shared_lock_tag(&tag, MyProc->pgprocno);
	tag.locktag_field3 = (uint32) dsm_segment_handle(segment);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);

	/* Ready: appenders that see this lock leave their notifications to us. */
	notifier_lock_tag(&tag, MyProc->pgprocno + 1, MyProcPid);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
	elog(DEBUG1, "event_store notifier ready in database %u from position %lld",
		 dboid, (long long) cursor);

	for (;;)
	{
		PassResult	result;
		long		timeout;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (database_wanted_elsewhere())
			proc_exit(0);

		do
		{
			result = notify_pass(extension, shared, &cursor);
			CHECK_FOR_INTERRUPTS();
		} while (result == PASS_MORE);

		/*
		 * Stopped before a position that may still commit: its appender wakes
		 * us when it ends, but a rollback's hole only becomes passable once
		 * its bucket is free, which nobody signals, so look again soon.
		 */
		if (result == PASS_STUCK)
		{
			timeout = gap_wait;
			gap_wait = Min(gap_wait * 2, NOTIFIER_TICK_MS);
		}
		else
		{
			timeout = NOTIFIER_TICK_MS;
			gap_wait = NOTIFIER_GAP_RETRY_MS;
		}

		/* let the commits of the next few milliseconds gather */
		(void) WaitLatch(NULL, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(timeout, NOTIFIER_MIN_PASS_MS), PG_WAIT_EXTENSION);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * One pass, in one transaction of ours: read the events after *cursor in
 * position order, as far as the no-gap rule allows and at most a page, and
 * send one notification per stream.  Exits the process when the extension
 * it started with is gone.
 */
static PassResult
notify_pass(Oid extension, NotifierShared *shared, int64 *cursor)
{
	PassResult	result = PASS_DONE;
	const EsCatalog *cat;
	Snapshot	snapshot;
	Relation	heap;
	Relation	index;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData key;
	EsGapCheck	gap;
	bool		checking = false;
	int64		next = *cursor + 1;
	int			n = 0;
	int			i;
	HASHCTL		ctl;
	HTAB	   *streams;
	HASH_SEQ_STATUS seq;
	StreamNote *note;
	StreamNote **notes;
	int			nnotes = 0;

	StartTransactionCommand();
	if (get_extension_oid("event_store", true) != extension)
	{
		CommitTransactionCommand();
		proc_exit(0);
	}
	pgstat_report_activity(STATE_RUNNING, "sending notifications");
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	PushActiveSnapshot(snapshot);

	ctl.keysize = ES_MAX_STREAM_NAME_BYTES + 1;
	ctl.entrysize = sizeof(StreamNote);
	ctl.hcxt = CurrentMemoryContext;
	streams = hash_create("event_store notifier streams", 64, &ctl,
						  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	cat = es_catalog();
	heap = table_open(cat->events, AccessShareLock);
	index = index_open(cat->events_pkey, AccessShareLock);
	slot = table_slot_create(heap, NULL);
	ScanKeyInit(&key, 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(next));
	scan = index_beginscan(heap, index, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);

	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		int64		pos;
		int64		version;
		char	   *name;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		pos = DatumGetInt64(slot_getattr(slot, Anum_events_global_position, &isnull));

		/* the horizon: pass missing positions only where horizon.c allows */
		if (pos > next)
		{
			if (!checking)
				es_gap_check_begin(&gap, snapshot, NULL);
			checking = true;
			if (es_gap_check(&gap, next, pos - 1) < pos)
			{
				/* a commit newer than our snapshot: a new pass sees it */
				result = gap.late ? PASS_MORE : PASS_STUCK;
				break;
			}
		}

		/*
		 * Passing next .. pos: clear their bits.  A hole as wide as the window
		 * clears every bit: no position above it can be marked yet (appenders
		 * mark below base + NOTIFIER_WINDOW, and base is at most next).
		 */
		if (pos - next >= NOTIFIER_WINDOW)
		{
			for (i = 0; i < NOTIFIER_WINDOW / 64; i++)
				pg_atomic_write_u64(&shared->bits[i], 0);
			next = pos;
		}
		for (; next < pos; next++)
			pg_atomic_fetch_and_u64(WANT_WORD(shared, next), ~WANT_BIT(next));
		next = pos + 1;

		/* announce it if its append asked (notify = async) */
		if (pg_atomic_fetch_and_u64(WANT_WORD(shared, pos), ~WANT_BIT(pos)) & WANT_BIT(pos))
		{
			name = TextDatumGetCString(slot_getattr(slot, Anum_events_stream_name, &isnull));
			version = DatumGetInt64(slot_getattr(slot, Anum_events_stream_version, &isnull));
			note = hash_search(streams, name, HASH_ENTER, &found);
			if (!found)
				note->first = version;
			note->last = version;
			note->position = pos;
		}
		if (++n >= NOTIFIER_PAGE)
		{
			result = PASS_MORE;
			break;
		}
	}
	index_endscan(scan);
	if (checking)
		es_gap_check_end(&gap);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);

	/* in the order of each stream's last event */
	notes = palloc(sizeof(StreamNote *) * Max(hash_get_num_entries(streams), 1));
	hash_seq_init(&seq, streams);
	while ((note = hash_seq_search(&seq)) != NULL)
		notes[nnotes++] = note;
	qsort(notes, nnotes, sizeof(StreamNote *), note_position_cmp);
	if (nnotes > 0)
		es_wait_durable();
	for (n = 0; n < nnotes; n++)
		es_send_notification(notes[n]->name, notes[n]->first, notes[n]->last,
							 notes[n]->position);

	PopActiveSnapshot();
	UnregisterSnapshot(snapshot);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	*cursor = next - 1;
	pg_atomic_write_u64(&shared->base, next);
	return result;
}

static int
note_position_cmp(const void *a, const void *b)
{
	int64		pa = (*(StreamNote *const *) a)->position;
	int64		pb = (*(StreamNote *const *) b)->position;

	return (pa > pb) - (pa < pb);
}
