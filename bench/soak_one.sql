-- soak writer: one event to a random acct-, user- or trim- stream, any version
\set s random(1, 200)
\set c random(1, 5)
SELECT soak.append(CASE WHEN :c <= 2 THEN 'acct-' || :s WHEN :c <= 4 THEN 'user-' || :s
                        ELSE 'trim-' || (:s % 20 + 1) END, -1, 1);
