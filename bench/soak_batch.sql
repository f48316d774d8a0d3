-- soak writer: a batch of 2-25 events to a random acct- or user- stream
\set s random(1, 200)
\set c random(1, 2)
\set n random(2, 25)
SELECT soak.append(CASE :c WHEN 1 THEN 'acct-' ELSE 'user-' END || :s, -1, :n);
