/*-------------------------------------------------------------------------
 *
 * commit.c
 *	  Give the stream locks back once the commit record is written, not
 *	  once it is flushed.
 *
 * An append holds its stream's lock until its transaction ends, so that the
 * next append to the stream reads the version this one wrote (stream.c).
 * PostgreSQL releases a transaction's locks after its commit record is
 * flushed, so with many appenders on one stream each turn with the lock
 * includes a WAL flush of its own and no two appends to that stream ever
 * share one: a hot stream ran at one commit per fdatasync.
 *
 * The next append needs two things from us: our events visible to it, and
 * our commit record ahead of its own in the WAL (its flush then covers ours,
 * and a crash keeps both, neither, or ours alone -- never a version without
 * the one before it).  Both hold once the commit record is inserted and the
 * proc array shows the commit.  So when another append waits for one of our
 * stream locks at commit, our commit record is written asynchronously
 * (synchronous_commit off for that record alone), the stream locks are given
 * back at XACT_EVENT_COMMIT, and then we flush the WAL up to our commit
 * record ourselves, before the commit returns to the client: an append that
 * returned is durable, as before, and the waiting append's commit can join
 * the next flush.
 *
 * For that one flush other sessions can see our events before they are
 * durable, as with any asynchronous commit.  The store does not hand such
 * events out, nor answers built on them: from PRE_COMMIT until its flush is
 * done, such a commit holds a shared lock on ES_LOCKTAG_UNFLUSHED, and
 * es_wait_durable flushes the WAL written so far when it finds that lock
 * held (a crash could otherwise take back an event a subscriber had already
 * acted on, and give its position to another).  Every function that returns
 * events, versions or horizons calls it before it answers, as do the
 * appends that end without writing (a retry answered from the log, a
 * wrong-version or deleted-stream refusal).  A plain SELECT on the tables
 * is not covered.
 *
 * Not done where commits wait for a synchronous standby (the events would be
 * visible here before the standby has them; the commit callback still waits
 * for one if the shared state says so), nor when the session's
 * synchronous_commit does not flush anyway, nor for a transaction that sent
 * NOTIFY event_store itself (its listeners hear of it at commit).
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/commit.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "storage/lock.h"
#include "utils/resowner.h"

#include "event_store.h"

/*
 * The stream locks this transaction took (each once).  Beyond this many,
 * the others are simply kept to the end of the transaction.
 */
#define EARLY_MAX_LOCKS		16

static LOCKTAG early_tags[EARLY_MAX_LOCKS];
static int	early_count = 0;
static bool keep_to_end = false;
static bool callback_registered = false;
static bool switched = false;
static int	saved_synchronous_commit;

static void early_xact_callback(XactEvent event, void *arg);
static bool early_locks_wanted(void);
static void give_back_and_flush(void);
static void release_early_locks(void);
static void unflushed_tag(LOCKTAG *tag);

/*
 * Take a stream lock until the end of the transaction (es_lock_stream).
 *
 * Taken in the current transaction's resource owner rather than the
 * current one (inside a function, the portal's): PostgreSQL then hands it
 * to the parent at subtransaction commit and releases it at subtransaction
 * abort, as before, and at top-level commit it belongs to the top
 * transaction's owner, from which it can be released early.
 */
void
es_acquire_stream_lock(const LOCKTAG *tag)
{
	ResourceOwner owner = CurrentResourceOwner;
	int			i;

	if (!callback_registered)
	{
		RegisterXactCallback(early_xact_callback, NULL);
		callback_registered = true;
	}
	CurrentResourceOwner = CurTransactionResourceOwner;
	(void) LockAcquire(tag, ExclusiveLock, false, false);
	CurrentResourceOwner = owner;

	for (i = 0; i < early_count; i++)
		if (memcmp(&early_tags[i], tag, sizeof(LOCKTAG)) == 0)
			return;
	if (early_count < EARLY_MAX_LOCKS)
		early_tags[early_count++] = *tag;
}

/*
 * This transaction's stream locks stay until its end, as PostgreSQL keeps
 * them: it sends NOTIFY event_store itself (append.c).
 */
void
es_keep_stream_locks_to_end(void)
{
	keep_to_end = true;
}

static void
early_xact_callback(XactEvent event, void *arg)
{
	LOCKTAG		tag;
	ResourceOwner owner;
	bool		acquired;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (early_count == 0 || keep_to_end ||
				synchronous_commit <= SYNCHRONOUS_COMMIT_OFF)
				break;
			if (SyncRepRequested() && SyncRepStandbyNames != NULL &&
				SyncRepStandbyNames[0] != '\0')
				break;
			if (!early_locks_wanted())
				break;
			unflushed_tag(&tag);
			owner = CurrentResourceOwner;
			CurrentResourceOwner = TopTransactionResourceOwner;
			acquired = LockAcquire(&tag, ShareLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
			CurrentResourceOwner = owner;
			if (!acquired)
				break;			/* a reader probing it this very moment: commit as usual */
			saved_synchronous_commit = synchronous_commit;
			synchronous_commit = SYNCHRONOUS_COMMIT_OFF;
			switched = true;
			break;

		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (switched)
			{
				synchronous_commit = saved_synchronous_commit;
				switched = false;
				if (event == XACT_EVENT_COMMIT)
					give_back_and_flush();
			}
			early_count = 0;
			keep_to_end = false;
			break;

		default:
			break;
	}
}

/*
 * At commit, after an early one: the commit record is in the WAL buffers
 * and the commit is visible.  Let the next appends in, then make it durable
 * before the client hears of it.
 */
static void
give_back_and_flush(void)
{
	ResourceOwner owner = CurrentResourceOwner;
	LOCKTAG		tag;

	CurrentResourceOwner = TopTransactionResourceOwner;
	release_early_locks();
	XLogFlush(XactLastCommitEnd);
	SyncRepWaitForLSN(XactLastCommitEnd, true);
	unflushed_tag(&tag);
	LockRelease(&tag, ShareLock, false);
	CurrentResourceOwner = owner;
}

/*
 * Does another transaction wait for one of our stream locks?  Only then is
 * giving them back early worth a commit record of its own.
 */
static bool
early_locks_wanted(void)
{
	int			i;

	for (i = 0; i < early_count; i++)
		if (LockHeldByMe(&early_tags[i], ExclusiveLock) &&
			LockHasWaiters(&early_tags[i], ExclusiveLock, false))
			return true;
	return false;
}

/*
 * Release our stream locks (taken once or several times, by this
 * transaction or by its committed subtransactions, all now in the top
 * transaction's owner, which must be current).
 */
static void
release_early_locks(void)
{
	int			i;

	for (i = 0; i < early_count; i++)
		while (LockHeldByMe(&early_tags[i], ExclusiveLock))
			if (!LockRelease(&early_tags[i], ExclusiveLock, false))
				break;
}

static void
unflushed_tag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0, 0, ES_LOCKTAG_UNFLUSHED);
}

/*
 * Before answering from what the snapshot shows: if a commit that gave its
 * locks back before its flush may be visible to us, flush the WAL written so
 * far (its commit record is in it: it was inserted before the commit became
 * visible), so that nothing we hand out can be lost in a crash.  The probe
 * conflicts with such a commit's lock but not with other probes.
 */
void
es_wait_durable(void)
{
	LOCKTAG		tag;
	XLogRecPtr	upto;

	if (RecoveryInProgress())
		return;
	unflushed_tag(&tag);
	if (LockAcquire(&tag, RowExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
	{
		LockRelease(&tag, RowExclusiveLock, false);
		return;
	}

	/*
	 * The insert position, as an end: at the start of a page (or segment)
	 * GetXLogInsertRecPtr points past its header, where nothing was written
	 * yet, and XLogFlush refuses to go there.
	 */
	upto = GetXLogInsertRecPtr();
	if (XLogSegmentOffset(upto, wal_segment_size) == SizeOfXLogLongPHD)
		upto -= SizeOfXLogLongPHD;
	else if (upto % XLOG_BLCKSZ == SizeOfXLogShortPHD)
		upto -= SizeOfXLogShortPHD;
	XLogFlush(upto);
}

PG_FUNCTION_INFO_V1(es_wait_durable_sql);

/*
 * wait_durable() -> void: the same, for the store's SQL and PL/pgSQL
 * readers (read_subscription's stream source).
 */
Datum
es_wait_durable_sql(PG_FUNCTION_ARGS)
{
	es_wait_durable();
	PG_RETURN_VOID();
}
