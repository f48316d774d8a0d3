#!/usr/bin/env python3
"""Run the quickstarts' programs against a live server.

    python3 test/quickstart_run.py docs/quickstart/*.md

Every fenced block whose info string is `<language> run` (```` ```python run ````,
```` ```js run ````, ```` ```elixir run ````) is one complete program: it is written
to a file as the page prints it and run with the environment's PGHOST, PGPORT, PGUSER
and PGDATABASE (a database with the extension), and must exit 0 within 300 s.  Elixir
scripts run with `mix run` in clients/elixir (the adapter's project).  The
quickstarts' `sql` blocks are run by the doc check (test/doc_check.py).  Prints one TAP
line per program and "quickstart: N passed, N failed".

Node programs find `pg` through NODE_PATH (test/run_all.sh installs it with npm into
test/node/node_modules; never globally).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^(\s*)(```+)\s*(\S+)\s+run\s*$")
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def interpreter(lang, path):
    """(command, working directory) for a program of lang, or None."""
    if lang == "python":
        return ["/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3", path], None
    if lang in ("js", "javascript"):
        return ["node", path], None
    if lang == "elixir":
        # a script of the adapter's Mix project (clients/elixir)
        return ["mix", "run", path], os.path.join(TOP, "clients", "elixir")
    return None, None


def programs(page):
    with open(page, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            start, fence, lang = i + 1, m.group(2), m.group(3)
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            yield start, lang, "\n".join(body) + "\n"
        i += 1


def main(pages):
    passed = failed = 0
    work = tempfile.mkdtemp(prefix="quickstart.")
    os.chmod(work, 0o755)
    # Mix gets a private HOME and MIX_HOME (it needs nothing from a registry).
    env = dict(os.environ, NODE_PATH=os.path.join(TOP, "test", "node", "node_modules"),
               HOME=work, MIX_HOME=os.path.join(work, ".mix"))
    for page in pages:
        for line, lang, code in programs(page):
            where = "%s:%d (%s)" % (page, line, lang)
            ext = {"python": ".py", "js": ".js", "javascript": ".js", "elixir": ".exs"}.get(lang, "")
            path = os.path.join(work, "p%d%s" % (passed + failed, ext))
            with open(path, "w", encoding="utf-8") as f:
                f.write(code)
            cmd, cwd = interpreter(lang, path)
            if cmd is None or shutil.which(cmd[0]) is None:
                print("not ok - %s: no interpreter for %s" % (where, lang))
                failed += 1
                continue
            try:
                r = subprocess.run(cmd, env=env, cwd=cwd or work, capture_output=True, text=True,
                                   timeout=300, stdin=subprocess.DEVNULL)
                rc, out = r.returncode, r.stdout + r.stderr
            except subprocess.TimeoutExpired as e:
                rc, out = "timeout", (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            ok = rc == 0
            print("%s - %s" % ("ok" if ok else "not ok", where))
            for x in out.rstrip().split("\n"):
                print("#   " + x)
            if not ok:
                print("# exit status: %s" % rc)
            passed += ok
            failed += not ok
    shutil.rmtree(work, ignore_errors=True)
    print("quickstart: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
