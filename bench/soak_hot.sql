-- soak same-stream contention: every client appends to hot-1, any version
SELECT soak.append('hot-1', -1, 1);
