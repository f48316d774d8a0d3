/*-------------------------------------------------------------------------
 *
 * feed_scan.c
 *	  read_all_forward and read_category_forward in FROM, read row by row: a
 *	  custom scan in place of the function scan.
 *
 * Why: a function scan stores every row its function returns in a
 * tuplestore before the query sees the first.  For a page of 1,000 events
 * that is a copy of every row (some 700 kB), an allocation and a free per
 * row, and a second pass over memory that has left the cache by the time
 * the rows are sent.  perf put those at the whole difference between
 * read_all_forward and the plain SELECT it is measured against
 * (docs/benchmarks.md, "Fourth round").  Here the executor asks for one row
 * at a time and gets the event from the index scan's buffer, as an index
 * scan would give it.
 *
 * The planner hook (set_rel_pathlist_hook, installed when the library is
 * loaded: a session's first read plans as a function scan) offers a custom
 * path, cheaper to start than the function scan's, for a FROM item that is
 * one call of one of our two readers, recognised by its C symbol, without
 * WITH ORDINALITY, LATERAL references or whole-row uses.  At run time the
 * scan checks EXECUTE on the function as a function scan would, evaluates
 * the arguments, and checks them with the function's own code.  Where the
 * rows must go through row-level security (policy.c), or the table is not
 * exactly our columns, it reads into a tuplestore as the function does and
 * hands the rows out from there.
 *
 * Copyright (c) 2026, the event_store authors
 *
 * src/feed_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "event_store.h"
#include "events.h"

/* read_category_forward's seven, at most */
#define FEED_SCAN_MAX_ARGS	7

/* The functions the scan stands in for */
typedef struct FeedReader
{
	const char *symbol;			/* the function's C symbol (pg_proc.prosrc) */
	EsFeedArgs	args;			/* checks its arguments */
	CustomScanMethods scan_methods;
	CustomExecMethods exec_methods;
} FeedReader;

typedef struct FeedScanState
{
	CustomScanState css;
	const FeedReader *reader;
	List	   *args;			/* the call's arguments, ready to evaluate */
	Bitmapset  *arg_params;		/* the PARAM_EXEC params they use */
	bool		keep_rows;		/* rescans may read the same call again */
	MemoryContext cxt;			/* one read's memory, reset when it ends */
	bool		started;
	EsFeed		feed;
	EsFeedIter *iter;			/* row by row; NULL: from 'store' */
	Tuplestorestate *store;
	TupleTableSlot *store_slot;
} FeedScanState;

static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;

static void feed_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
							  RangeTblEntry *rte);
static Plan *plan_feed_path(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
							List *tlist, List *clauses, List *custom_plans);
static Node *create_feed_state(CustomScan *cscan);
static void begin_feed(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *exec_feed(CustomScanState *node);
static void end_feed(CustomScanState *node);
static bool collect_params(Node *node, Bitmapset **params);
static void rescan_feed(CustomScanState *node);
static void explain_feed(CustomScanState *node, List *ancestors, ExplainState *es);

static const CustomPathMethods feed_path_methods = {
	.CustomName = "event_store feed",
	.PlanCustomPath = plan_feed_path,
};

#define FEED_READER(name, args) \
	{"es_" name, args, \
	 {.CustomName = "event_store " name, .CreateCustomScanState = create_feed_state}, \
	 {.CustomName = "event_store " name, .BeginCustomScan = begin_feed, \
	  .ExecCustomScan = exec_feed, .EndCustomScan = end_feed, \
	  .ReScanCustomScan = rescan_feed, .ExplainCustomScan = explain_feed}}

static const FeedReader feed_readers[] = {
	FEED_READER("read_all_forward", es_all_feed_args),
	FEED_READER("read_category_forward", es_category_feed_args),
};

void
es_feed_scan_init(void)
{
	for (size_t i = 0; i < lengthof(feed_readers); i++)
		RegisterCustomScanMethods(&feed_readers[i].scan_methods);
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = feed_rel_pathlist;
}

/*
 * The reader this function is, or NULL: C, in our library, by its symbol,
 * with invoker's rights, not STRICT and no SET clause (which the scan could
 * not honour).
 */
static const FeedReader *
feed_reader(Oid funcid)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	const FeedReader *reader = NULL;

	if (!HeapTupleIsValid(tuple))
		return NULL;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (proc->prolang == ClanguageId && proc->proretset && !proc->prosecdef &&
		!proc->proisstrict && heap_attisnull(tuple, Anum_pg_proc_proconfig, NULL))
	{
		bool		src_null;
		bool		bin_null;
		Datum		src = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &src_null);
		Datum		bin = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_probin, &bin_null);
		char	   *library = bin_null ? "" : TextDatumGetCString(bin);
		char	   *base = strrchr(library, '/');

		base = base ? base + 1 : library;
		if (!src_null &&
			(strcmp(base, "event_store") == 0 || strcmp(base, "event_store.so") == 0))
		{
			char	   *symbol = TextDatumGetCString(src);

			for (size_t i = 0; i < lengthof(feed_readers); i++)
				if (strcmp(symbol, feed_readers[i].symbol) == 0)
					reader = &feed_readers[i];
		}
	}
	ReleaseSysCache(tuple);
	return reader;
}

/* Does the query use the whole row (or a system column) of the item? */
static bool
uses_whole_row(RelOptInfo *rel)
{
	Bitmapset  *attrs = NULL;
	ListCell   *lc;
	int			first;

	pull_varattnos((Node *) rel->reltarget->exprs, rel->relid, &attrs);
	foreach(lc, rel->baserestrictinfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause, rel->relid, &attrs);
	first = bms_next_member(attrs, -1);
	return first >= 0 && first <= 0 - FirstLowInvalidHeapAttributeNumber;
}

static void
feed_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	RangeTblFunction *rtfunc;
	FuncExpr   *call;
	TupleDesc	desc;
	CustomPath *path;
	Cost		total;

	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);

	/* one function in FROM, not LATERAL, not proved empty */
	if (rte->rtekind != RTE_FUNCTION || rte->funcordinality ||
		list_length(rte->functions) != 1 || rel->reloptkind != RELOPT_BASEREL ||
		!bms_is_empty(rel->lateral_relids) || rel->pathlist == NIL ||
		IS_DUMMY_REL(rel))
		return;

	/*
	 * Not anywhere in a statement EvalPlanQual could recheck (the scan has no
	 * relation to fetch a row from again; before 15.15 or so PostgreSQL also
	 * rechecked scans of subqueries that do not lock).
	 */
	for (PlannerInfo *level = root; level != NULL; level = level->parent_root)
		if (level->parse->commandType != CMD_SELECT || level->parse->rowMarks != NIL)
			return;
	rtfunc = linitial_node(RangeTblFunction, rte->functions);
	if (!IsA(rtfunc->funcexpr, FuncExpr))
		return;
	call = (FuncExpr *) rtfunc->funcexpr;
	if (!call->funcretset || list_length(call->args) > FEED_SCAN_MAX_ARGS ||
		contain_subplans((Node *) call->args) || feed_reader(call->funcid) == NULL ||
		get_expr_result_type((Node *) call, NULL, &desc) != TYPEFUNC_COMPOSITE ||
		desc->natts != Natts_recorded_event || uses_whole_row(rel))
		return;
	for (int i = 0; i < desc->natts; i++)
		if (TupleDescAttr(desc, i)->attisdropped)
			return;				/* the function will say what is wrong */

	/* costed as the function scan, but its first row comes at once */
	total = ((Path *) linitial(rel->pathlist))->total_cost;
	path = makeNode(CustomPath);
	path->path.pathtype = T_CustomScan;
	path->path.parent = rel;
	path->path.pathtarget = rel->reltarget;
	path->path.rows = rel->rows;
	path->path.startup_cost = 0;
	path->path.total_cost = total;
	path->flags = CUSTOMPATH_SUPPORT_PROJECTION;
	path->methods = &feed_path_methods;
	add_path(rel, &path->path);
}

/*
 * The plan: no relation to scan (scanrelid 0); its scan tuple is the
 * function's row, described by Vars of the item, to which the planner maps
 * the target list and quals.  The call itself rides in custom_exprs, where
 * the planner prepares its arguments (Params, functions) like any other.
 */
static Plan *
plan_feed_path(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path, List *tlist,
			   List *clauses, List *custom_plans)
{
	RangeTblEntry *rte = planner_rt_fetch(rel->relid, root);
	FuncExpr   *call = (FuncExpr *) linitial_node(RangeTblFunction, rte->functions)->funcexpr;
	CustomScan *cscan = makeNode(CustomScan);
	TupleDesc	desc;
	List	   *scan_tlist = NIL;

	if (get_expr_result_type((Node *) call, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "function %u does not return a row type", call->funcid);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Var		   *var = makeVar(rel->relid, i + 1, att->atttypid, att->atttypmod,
								  att->attcollation, 0);

		scan_tlist = lappend(scan_tlist, makeTargetEntry((Expr *) var, i + 1,
														 pstrdup(NameStr(att->attname)),
														 false));
	}

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = extract_actual_clauses(clauses, false);
	cscan->scan.scanrelid = 0;
	cscan->flags = best_path->flags;
	cscan->custom_exprs = list_make1(copyObject(call));
	cscan->custom_scan_tlist = scan_tlist;
	cscan->custom_relids = bms_copy(rel->relids);
	cscan->methods = &feed_reader(call->funcid)->scan_methods;
	return &cscan->scan.plan;
}

static Node *
create_feed_state(CustomScan *cscan)
{
	FeedScanState *state = palloc0(sizeof(FeedScanState));

	NodeSetTag(state, T_CustomScanState);
	state->reader = (const FeedReader *) ((char *) cscan->methods -
										  offsetof(FeedReader, scan_methods));
	state->css.methods = &state->reader->exec_methods;
	return (Node *) state;
}

static void
begin_feed(CustomScanState *node, EState *estate, int eflags)
{
	FeedScanState *state = (FeedScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	FuncExpr   *call = linitial_node(FuncExpr, cscan->custom_exprs);
	AclResult	acl;

	/* what a function scan checks when it sets up the call */
	acl = pg_proc_aclcheck(call->funcid, GetUserId(), ACL_EXECUTE);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_FUNCTION, get_func_name(call->funcid));
	InvokeFunctionExecuteHook(call->funcid);

	state->args = ExecInitExprList(call->args, &node->ss.ps);
	collect_params((Node *) call->args, &state->arg_params);

	/*
	 * A function scan keeps its rows and, rescanned with the same arguments,
	 * reads them again; so does this one where rescans may come without new
	 * arguments (a parent that asks for rewinds, or params the quals use).
	 * Otherwise the rows go out as they are read; a rescan that comes anyway
	 * (a parent rescanned by a correlated subquery) reads once more, and the
	 * rows are kept from then on (rescan_feed).
	 */
	state->keep_rows = (eflags & EXEC_FLAG_REWIND) != 0 ||
		!bms_is_subset(node->ss.ps.plan->allParam, state->arg_params);
	state->cxt = AllocSetContextCreate(CurrentMemoryContext, "event_store feed scan",
									   ALLOCSET_DEFAULT_SIZES);
}

/* The ids of the PARAM_EXEC params in an expression */
static bool
collect_params(Node *node, Bitmapset **params)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
		*params = bms_add_member(*params, ((Param *) node)->paramid);
	return expression_tree_walker(node, collect_params, (void *) params);
}

/* Evaluate and check the arguments, and start the read */
static void
feed_start(FeedScanState *state)
{
	ExprContext *econtext = state->css.ss.ps.ps_ExprContext;
	TupleDesc	desc = state->css.ss.ss_ScanTupleSlot->tts_tupleDescriptor;
	MemoryContext old = MemoryContextSwitchTo(state->cxt);
	LOCAL_FCINFO(fcinfo, FEED_SCAN_MAX_ARGS);
	ListCell   *lc;
	int64		from;
	int32		max_count;
	int			n = 0;

	InitFunctionCallInfoData(*fcinfo, NULL, list_length(state->args), InvalidOid, NULL, NULL);
	foreach(lc, state->args)
	{
		fcinfo->args[n].value = ExecEvalExpr((ExprState *) lfirst(lc), econtext,
											 &fcinfo->args[n].isnull);
		n++;
	}
	memset(&state->feed, 0, sizeof(EsFeed));
	state->reader->args(fcinfo, &state->feed, &from, &max_count);
	es_check_recorded_desc(desc);

	if (!state->keep_rows)
		state->iter = es_feed_begin(&state->feed, from, max_count);
	if (state->iter == NULL)
	{
		state->store = tuplestore_begin_heap(false, false, work_mem);
		es_read_feed(state->store, desc, &state->feed, from, max_count);
		state->store_slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	}
	state->started = true;
	MemoryContextSwitchTo(old);
}

/* The next row, in the scan slot (virtual: its datums are the row's) */
static TupleTableSlot *
feed_next(ScanState *node)
{
	FeedScanState *state = (FeedScanState *) node;
	TupleTableSlot *slot = node->ss_ScanTupleSlot;

	if (!state->started)
		feed_start(state);
	ExecClearTuple(slot);
	if (state->iter)
	{
		MemoryContext old = MemoryContextSwitchTo(state->cxt);
		TupleTableSlot *row = es_feed_next(state->iter);

		MemoryContextSwitchTo(old);
		if (row == NULL)
			return slot;
		slot_getallattrs(row);
		es_recorded_event_values(row->tts_values, row->tts_isnull,
								 slot->tts_values, slot->tts_isnull);
	}
	else
	{
		if (!tuplestore_gettupleslot(state->store, true, false, state->store_slot))
			return slot;
		slot_getallattrs(state->store_slot);
		memcpy(slot->tts_values, state->store_slot->tts_values,
			   sizeof(Datum) * Natts_recorded_event);
		memcpy(slot->tts_isnull, state->store_slot->tts_isnull,
			   sizeof(bool) * Natts_recorded_event);
	}
	return ExecStoreVirtualTuple(slot);
}

static bool
feed_recheck(ScanState *node, TupleTableSlot *slot)
{
	return true;				/* never an EvalPlanQual source */
}

static TupleTableSlot *
exec_feed(CustomScanState *node)
{
	return ExecScan(&node->ss, feed_next, feed_recheck);
}

static void
feed_stop(FeedScanState *state)
{
	if (state->iter)
		es_feed_end(state->iter);
	if (state->store)
		tuplestore_end(state->store);
	if (state->store_slot)
		ExecDropSingleTupleTableSlot(state->store_slot);
	state->iter = NULL;
	state->store = NULL;
	state->store_slot = NULL;
	state->started = false;
	MemoryContextReset(state->cxt);
}

static void
end_feed(CustomScanState *node)
{
	FeedScanState *state = (FeedScanState *) node;

	ExecClearTuple(node->ss.ss_ScanTupleSlot);
	feed_stop(state);
	MemoryContextDelete(state->cxt);
}

/* New arguments: read again; the same ones: the rows kept, from the start */
static void
rescan_feed(CustomScanState *node)
{
	FeedScanState *state = (FeedScanState *) node;

	ExecScanReScan(&node->ss);
	if (!bms_overlap(node->ss.ps.chgParam, state->arg_params))
	{
		if (state->store)
		{
			tuplestore_rescan(state->store);
			return;
		}
		/* rescans nobody announced: read once more, and keep the rows */
		state->keep_rows = true;
	}
	feed_stop(state);
}

/* EXPLAIN VERBOSE shows the call, as for a function scan */
static void
explain_feed(CustomScanState *node, List *ancestors, ExplainState *es)
{
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	List	   *context;

	if (!es->verbose)
		return;
	context = set_deparse_context_plan(es->deparse_cxt, &cscan->scan.plan, ancestors);
	ExplainPropertyText("Function Call",
						deparse_expression(linitial(cscan->custom_exprs), context,
										   false, false),
						es);
}
