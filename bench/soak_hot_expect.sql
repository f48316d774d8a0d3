-- soak same-stream contention: hot-1 with the version just read (ES001 on a lost race)
SELECT soak.append_expected('hot-1', 1);
