-- soak writer: appends that roll back (their positions stay holes); acct
-- before user, like soak_multi.sql, so they cannot deadlock with it
\set s random(1, 200)
\set n random(1, 30)
BEGIN;
SELECT soak.append('acct-' || :s, -1, 1);
SELECT soak.append('user-' || :s, -1, :n);
ROLLBACK;
