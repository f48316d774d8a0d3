-- soak writer: one transaction appending to three streams (always acct, then
-- user, then trim, so two such transactions cannot deadlock)
\set a random(1, 200)
\set u random(1, 200)
\set t random(1, 20)
\set n random(1, 10)
BEGIN;
SELECT soak.append('acct-' || :a, -1, :n);
SELECT soak.append('user-' || :u, -1, 3);
SELECT soak.append('trim-' || :t, -1, 2);
COMMIT;
