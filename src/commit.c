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
 * durable, as with any asynchronous commit.  The store's readers never hand
 * such events out: from PRE_COMMIT until its flush is done, such a commit
 * holds a shared lock on ES_LOCKTAG_UNFLUSHED, and es_wait_durable, which
 * every read path calls before it answers, flushes the WAL written so far
 * when it finds that lock held (a crash could otherwise take back an event a
 * subscriber had already acted on, and give its position to another).
 *
 * Not done where commits wait for a synchronous standby (the events would be
 * visible here before the standby has them), nor when the session's
 * synchronous_commit does not flush anyway.
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
#include "access/xlogdefs.h"
#include "miscadmin.h"
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "storage/lock.h"

#include "event_store.h"

/*
 * The stream locks this transaction took, one entry per acquisition, with
 * the subtransaction that took it.  Beyond this many, further ones are taken
 * the ordinary way and released at the end of the transaction.
 */
#define EARLY_MAX_LOCKS		16

typedef struct EarlyLock
{
	LOCKTAG		tag;
	SubTransactionId subid;
} EarlyLock;

static EarlyLock early_locks[EARLY_MAX_LOCKS];
static int	early_count = 0;
static bool callbacks_registered = false;
static bool switched = false;
static int	saved_synchronous_commit;

static void early_xact_callback(XactEvent event, void *arg);
static void early_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								   SubTransactionId parentSubid, void *arg);
static void release_early_locks(SubTransactionId subid);
static bool early_locks_wanted(void);
static void unflushed_tag(LOCKTAG *tag);

/*
 * Take a stream lock until the end of the transaction (es_lock_stream).
 *
 * A lock belongs to the resource owner current when it was taken; inside a
 * function that is the portal's, which at commit is no longer current, so
 * the lock could not be released from XACT_EVENT_COMMIT.  It is taken in
 * the top transaction's resource owner instead, and released by us when the
 * subtransaction that took it aborts, as it would have been.
 */
void
es_acquire_stream_lock(const LOCKTAG *tag)
{
	ResourceOwner owner = CurrentResourceOwner;

	if (!callbacks_registered)
	{
		RegisterXactCallback(early_xact_callback, NULL);
		RegisterSubXactCallback(early_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (early_count >= EARLY_MAX_LOCKS)
	{
		(void) LockAcquire(tag, ExclusiveLock, false, false);
		return;
	}
	CurrentResourceOwner = TopTransactionResourceOwner;
	PG_TRY();
	{
		(void) LockAcquire(tag, ExclusiveLock, false, false);
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = owner;
	}
	PG_END_TRY();
	early_locks[early_count].tag = *tag;
	early_locks[early_count].subid = GetCurrentSubTransactionId();
	early_count++;
}

/*
 * Release the tracked locks taken in subtransaction subid (all of them for
 * InvalidSubTransactionId).  Needs the top transaction's resource owner.
 */
static void
release_early_locks(SubTransactionId subid)
{
	ResourceOwner owner = CurrentResourceOwner;
	int			kept = 0;
	int			i;

	CurrentResourceOwner = TopTransactionResourceOwner;
	for (i = 0; i < early_count; i++)
	{
		if (subid == InvalidSubTransactionId || early_locks[i].subid == subid)
			LockRelease(&early_locks[i].tag, ExclusiveLock, false);
		else
			early_locks[kept++] = early_locks[i];
	}
	early_count = kept;
	CurrentResourceOwner = owner;
}

static void
early_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			i;

	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (i = 0; i < early_count; i++)
			if (early_locks[i].subid == mySubid)
				early_locks[i].subid = parentSubid;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		release_early_locks(mySubid);
}

static void
early_xact_callback(XactEvent event, void *arg)
{
	LOCKTAG		tag;
	ResourceOwner owner;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (early_count == 0 || synchronous_commit <= SYNCHRONOUS_COMMIT_OFF)
				break;
			if (SyncRepRequested() && SyncRepStandbyNames != NULL &&
				SyncRepStandbyNames[0] != '\0')
				break;
			if (!early_locks_wanted())
				break;
			unflushed_tag(&tag);
			owner = CurrentResourceOwner;
			CurrentResourceOwner = TopTransactionResourceOwner;
			(void) LockAcquire(&tag, ShareLock, false, false);
			CurrentResourceOwner = owner;
			saved_synchronous_commit = synchronous_commit;
			synchronous_commit = SYNCHRONOUS_COMMIT_OFF;
			switched = true;
			break;

		case XACT_EVENT_COMMIT:
			if (switched)
			{
				synchronous_commit = saved_synchronous_commit;
				switched = false;
				release_early_locks(InvalidSubTransactionId);
				XLogFlush(XactLastCommitEnd);
				unflushed_tag(&tag);
				owner = CurrentResourceOwner;
				CurrentResourceOwner = TopTransactionResourceOwner;
				LockRelease(&tag, ShareLock, false);
				CurrentResourceOwner = owner;
			}
			early_count = 0;
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_ABORT:
			if (switched)
			{
				synchronous_commit = saved_synchronous_commit;
				switched = false;
			}
			early_count = 0;
			break;

		default:
			break;
	}
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
		if (LockHeldByMe(&early_locks[i].tag, ExclusiveLock) &&
			LockHasWaiters(&early_locks[i].tag, ExclusiveLock, false))
			return true;
	return false;
}

static void
unflushed_tag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0, 0, ES_LOCKTAG_UNFLUSHED);
}

/*
 * Readers, after their last snapshot and before they answer: if a commit
 * whose locks went back before its flush may be visible to us, flush the WAL
 * written so far (its commit record is in it: it was inserted before the
 * commit became visible), so that nothing we hand out can be lost in a crash.
 */
void
es_wait_durable(void)
{
	LOCKTAG		tag;

	if (RecoveryInProgress())
		return;
	unflushed_tag(&tag);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		XLogFlush(GetXLogInsertRecPtr());
	else
		LockRelease(&tag, ExclusiveLock, false);
}
