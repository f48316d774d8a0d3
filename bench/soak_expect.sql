-- soak writer: the version just read as the expected version, on a few busy
-- streams: ES001 whenever another append wins the race (counted, expected)
\set s random(1, 5)
\set n random(1, 4)
SELECT soak.append_expected('acct-' || :s, :n);
