# The run report (server/status/report.c): metrics.jsonl + summary.json -> one HTML page with SVG
# charts. The test compiles report.c directly (it needs only cJSON and the logger from
# rlcommon), so it does not depend on the rest of the learner building.
rl_test(test_report LABELS unit TIMEOUT 60
        SOURCES test_report.c LIBS rlstatus)
