#!/usr/bin/env python3
"""The doc check: run the SQL examples of the docs against a live server.

    python3 test/doc_check.py README.md CONTRIBUTING.md docs/*.md docs/*/*.md

Connects with libpq's environment (PGHOST, PGPORT, PGUSER; a superuser), as
the suites' pg_virtualenv clusters provide it.  Prints one TAP line per
checked block and a "docs: N passed, N failed" summary; exits non-zero on a
failure.  It first checks itself on built-in pages it must accept and pages it
must refuse (SELF_TEST below).

The convention (CONTRIBUTING.md, "SQL in the docs", says the same):

* Every fenced block whose info string is `sql` is run, in the order of the
  page, each block in a new psql session (so `SET` does not leak from one
  block into the next), all blocks of one page in one fresh database where
  `CREATE EXTENSION event_store` has been run.  Roles a page creates are
  dropped after it.  Sessions run `\\set VERBOSITY verbose` (errors show
  their SQLSTATE) and `\\pset footer off`.

* A block is a psql transcript: statements (ending with `;`, or psql
  meta-commands on a line of their own), each optionally followed by the
  output psql printed for it: lines starting with a blank (table headers and
  rows), a `----+----` rule, or `ERROR:`, `DETAIL:`, `HINT:`, `WARNING:`,
  `NOTICE:`, `INFO:`, `Asynchronous notification`.  Where a statement shows
  output, the output must match exactly (trailing blanks and blank lines
  aside; `LOCATION:` and `CONTEXT:` lines of the real output are dropped, and
  the PID of a notification is not compared).  Where it shows none, it
  must not fail.

* A one-value result may be shown as a comment instead: `-- → 3` after the
  statement (on its last line or the next line).  The values of the result
  (cells joined with " | ", rows with ", ") or its error line
  (`ERROR: ES001: …`, compared up to the length shown) must match.

* A statement with parameters (`$1`, `$2`, …: what a driver sends) is
  prepared (`PREPARE … AS`), so it is parsed, its parameter types inferred
  and its names resolved, but not run.  Cast parameters whose type cannot
  be inferred (`md5($1::text)`): a driver would meet the same ambiguity.

* ```` ```sql nocheck ```` : not run (signatures, fragments, SQL that needs
  another server or names a database of yours).
  ```` ```sql any-output ```` : run, must not fail unless it shows an error,
  output not compared (timestamps, generated ids).

* Hidden set-up: an HTML comment `<!-- doc-check setup:` … `-->` holding
  SQL runs at that point of the page (it must not fail) and shows nothing
  on the rendered page.  Use it for data an example presumes.
  `<!-- doc-check fresh -->` (or `<!-- doc-check fresh:` SQL `-->`) first
  drops and re-creates the extension, so what follows starts from an empty
  store with positions from 1 again.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

OUTPUT_PREFIXES = ("ERROR:", "LINE ", "DETAIL:", "HINT:", "WARNING:", "NOTICE:", "INFO:",
                   "Asynchronous notification", "LOCATION:", "CONTEXT:")
RESULT_ARROW = re.compile(r"--\s*→\s*(.*?)\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^`]*)$")


class Block:
    def __init__(self, path, line, kind, text):
        self.path, self.line, self.kind, self.text = path, line, kind, text


def blocks_of(path):
    """The page's sql blocks and setup comments, in order."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"<!-- doc-check (setup|fresh)(:|\s*-->)", line.strip())
        if m:
            start = i
            body = []
            if m.group(1) == "fresh":
                body.append("DROP EXTENSION event_store CASCADE; CREATE EXTENSION event_store;")
            rest = line.strip()[len(m.group(0)) - (3 if m.group(2) != ":" else 0):]
            while "-->" not in rest:
                body.append(rest)
                i += 1
                rest = lines[i]
            body.append(rest.split("-->")[0])
            out.append(Block(path, start + 1, "setup", "\n".join(body)))
            i += 1
            continue
        m = FENCE.match(line)
        if m:
            indent, fence, info = m.group(1), m.group(2), m.group(3).split()
            start = i
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
                i += 1
            if info and info[0] == "sql":
                mode = info[1] if len(info) > 1 else "check"
                if mode not in ("check", "nocheck", "any-output"):
                    out.append(Block(path, start + 1, "bad", "unknown sql block mode " + mode))
                else:
                    out.append(Block(path, start + 1, mode, "\n".join(body)))
        i += 1
    return out


def statement_end(text):
    """Index just past the first top-level ';' of text, or -1."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c in "'\"":
            j = i + 1
            while j < n:
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif c == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])
            if m:
                j = text.find(m.group(0), i + len(m.group(0)))
                i = n if j < 0 else j + len(m.group(0))
            else:
                i += 1
        elif c == ";":
            return i + 1
        else:
            i += 1
    return -1


def has_parameters(sql):
    """Does sql use $1, $2, … outside literals and comments?"""
    stripped = re.sub(r"--[^\n]*|'(?:[^']|'')*'|\$([A-Za-z_]\w*|)\$.*?\$\1\$", "", sql, flags=re.S)
    return re.search(r"\$[0-9]", stripped) is not None


def parse(text):
    """[(sql, shown_output_lines, arrow_or_None)] of a transcript."""
    items = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("--"):
            # a comment of its own: an arrow belongs to the statement before
            m = RESULT_ARROW.match(line.strip())
            if m and items and items[-1][2] is None and not items[-1][1]:
                items[-1] = (items[-1][0], items[-1][1], m.group(1))
            i += 1
            continue
        if line.startswith("\\"):
            items.append((line, [], None))
            i += 1
        else:
            sql = line
            i += 1
            while statement_end(sql) < 0 and i < len(lines):
                sql += "\n" + lines[i]
                i += 1
            end = statement_end(sql)
            arrow = None
            if end >= 0:
                m = RESULT_ARROW.search(sql[end:])
                if m:
                    arrow = m.group(1)
            items.append((sql, [], arrow))
        # the output shown for it
        shown = []
        while i < len(lines):
            line = lines[i]
            if line.startswith(" ") or line.startswith(OUTPUT_PREFIXES) or re.match(r"^-+(\+-+)*$", line):
                shown.append(line.rstrip())
                i += 1
            elif not line.strip():
                i += 1
                # blank lines end the output only if SQL follows
                if i < len(lines) and (lines[i].startswith(" ") or lines[i].startswith(OUTPUT_PREFIXES)) and shown:
                    continue
                break
            else:
                break
        if shown:
            items[-1] = (items[-1][0], shown, items[-1][2])
    return items


def run_block(db, items):
    """Run each statement after a marker; return the actual output per item."""
    script = ["\\set VERBOSITY verbose", "\\pset footer off"]
    for k, (sql, _, _) in enumerate(items):
        script.append("\\echo '@@doc-check %d@@'" % k)
        end = statement_end(sql)
        if end > 0 and has_parameters(sql[:end]):
            # a driver's statement: prepared (parsed, typed, planned), not run
            script.append("PREPARE doc_check_%d AS %s" % (k, sql[:end]))
            script.append("DEALLOCATE doc_check_%d;" % k)
        else:
            script.append(sql)
    # one stream for results and errors, in the order psql writes them (it
    # flushes its output before reporting an error, as pg_regress relies on)
    r = subprocess.run(["psql", "-X", "-q", "-d", db, "-v", "ON_ERROR_STOP=0"],
                       input="\n".join(script) + "\n", stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    out = r.stdout
    parts = re.split(r"^@@doc-check (\d+)@@\n", out, flags=re.M)
    actual = {}
    for j in range(1, len(parts), 2):
        actual[int(parts[j])] = parts[j + 1]
    return [normalise(actual.get(k, "")) for k in range(len(items))], normalise(parts[0])


def normalise(text):
    out = []
    in_context = False
    for line in text.split("\n"):
        line = line.rstrip()
        if not line:
            continue
        if line.startswith(("LOCATION:",)):
            continue
        if line.startswith("CONTEXT:"):
            in_context = True
            continue
        if in_context and not line.startswith(OUTPUT_PREFIXES) and not line.startswith(" ") \
                and not re.match(r"^-+(\+-+)*$", line):
            continue
        in_context = False
        out.append(line)
    return out


NOTIFY_PID = re.compile(r"(received from server process with PID) \d+")


def same(shown, actual):
    a = [NOTIFY_PID.sub(r"\1 N", x) for x in actual if not x.startswith("CONTEXT:")]
    s = [NOTIFY_PID.sub(r"\1 N", x) for x in shown if not x.startswith(("LOCATION:", "CONTEXT:"))]
    return a == s


def values(actual):
    """The one-value form of an actual output: cells " | ", rows ", "."""
    for line in actual:
        if line.startswith("ERROR:"):
            return re.sub(r"\s+", " ", line)
    rows = []
    seen_rule = False
    for line in actual:
        if re.match(r"^-+(\+-+)*$", line):
            seen_rule = True
            continue
        if seen_rule and line.startswith(" "):
            rows.append(" | ".join(c.strip() for c in line.split(" | ")))
    return ", ".join(rows)


def sh(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def admin(sql):
    r = sh(["psql", "-X", "-q", "-At", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql])
    if r.returncode != 0:
        raise RuntimeError(sql + ": " + r.stderr)
    return r.stdout


def check_page(path, number, tap):
    db = "doc_check_%s" % number
    roles_before = set(admin("SELECT rolname FROM pg_roles").split())
    admin("DROP DATABASE IF EXISTS %s" % db)
    admin("CREATE DATABASE %s" % db)
    r = sh(["psql", "-X", "-q", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", "CREATE EXTENSION event_store"])
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    passed = failed = 0
    for b in blocks_of(path):
        if b.kind == "nocheck":
            continue
        where = "%s:%d" % (path, b.line)
        problems = []
        if b.kind == "bad":
            problems.append(b.text)
        else:
            items = parse(b.text)
            actual, stderr = run_block(db, items)
            if stderr:
                problems.append("psql: " + "\n".join(stderr))
            for (sql, shown, arrow), act in zip(items, actual):
                failed_stmt = any(x.startswith("ERROR:") for x in act)
                first = sql.strip().split("\n")[0]
                if arrow is not None:
                    got = values(act)
                    want = re.sub(r"\s+", " ", arrow)
                    ok = got == want or (want.startswith("ERROR") and got.startswith(want))
                    if not ok:
                        problems.append("%s\n  shows  → %s\n  prints → %s" % (first, arrow, got))
                elif shown and b.kind == "check":
                    if not same(shown, act):
                        problems.append("%s\n  shows:\n%s\n  prints:\n%s" % (
                            first, indent(shown), indent(act)))
                elif failed_stmt and not any(x.startswith("ERROR:") for x in shown):
                    problems.append("%s\n  fails:\n%s" % (first, indent(act)))
        tap.append(("not ok" if problems else "ok") + " - " + where +
                   (" (setup)" if b.kind == "setup" else ""))
        for p in problems:
            tap.extend("# " + x for x in p.split("\n"))
        if problems:
            failed += 1
        else:
            passed += 1
    # leave nothing behind: slots and publications live in the database,
    # roles in the cluster
    admin("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
          "WHERE database = '%s'" % db)
    admin("DROP DATABASE %s WITH (FORCE)" % db)
    for role in set(admin("SELECT rolname FROM pg_roles").split()) - roles_before:
        admin('DROP ROLE "%s"' % role)
    return passed, failed


def indent(lines):
    return "\n".join("    " + x for x in lines) if lines else "    (nothing)"


# The check's own test: pages it must accept and pages it must refuse, run
# first on the same server, so that a check that passes everything fails.
SELF_TEST = [
    ("accepts a transcript, an arrow, a driver statement and hidden set-up", True, """
<!-- doc-check setup: SELECT event_store.append_to_stream('s-1', 0, ARRAY[event_store.event('A', '{}')]); -->
```sql
SELECT event_store.stream_version('s-1');
 stream_version
----------------
              1
SELECT event_store.append_to_stream('s-1', 0, ARRAY[event_store.event('B', '{}')]);
ERROR:  ES001: wrong expected version for stream "s-1"
DETAIL:  Expected no stream, but the stream is at version 1.
SELECT event_store.stream_version('s-2');   -- → 0
SELECT event_store.read_stream_forward($1, $2, $3);
```
"""),
    ("refuses output that differs", False, """
```sql
SELECT event_store.no_stream();
 no_stream
-----------
         1
```
"""),
    ("refuses a failing statement that shows no error", False, """
```sql
SELECT event_store.stream_version('');
```
"""),
    ("refuses a wrong arrow", False, """
```sql
SELECT event_store.any_version();   -- → 1
```
"""),
    ("refuses a driver statement naming what does not exist", False, """
```sql
SELECT event_store.no_such_function($1);
```
"""),
    ("refuses an unknown block mode", False, """
```sql maybe
SELECT 1;
```
"""),
]


def self_test(tap):
    passed = failed = 0
    work = tempfile.mkdtemp(prefix="doc_check.")
    try:
        for n, (what, accept, page) in enumerate(SELF_TEST):
            path = os.path.join(work, "page%d.md" % n)
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
            inner = []
            p, f = check_page(path, "self_%d" % n, inner)
            ok = (f == 0 and p > 0) if accept else f > 0
            tap.append("%s - self-test: the check %s" % ("ok" if ok else "not ok", what))
            if not ok:
                tap.extend("#   " + x for x in inner)
            passed += ok
            failed += not ok
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return passed, failed


def main(paths):
    tap = []
    passed, failed = self_test(tap)
    for n, path in enumerate(paths):
        p, f = check_page(path, n, tap)
        passed += p
        failed += f
    print("\n".join(tap))
    print("docs: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
