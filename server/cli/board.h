/* board: `rlserve board DIR [DIR ...] [--listen HOST:PORT] [--port-file FILE]`, a read-only page
 * over run folders (each DIR that is one, or every run folder below it: a folder holding
 * metrics.jsonl, summary.json or run.conf). One chart per metric with a line per run, the
 * legend by run name, preset, seed and the config keys that differ between the runs, a
 * smoothing slider, x by env steps or wall time, and a table of each run's summary.json. The
 * folders are read again every second, so live runs are followed as their metrics.jsonl grows
 * and new run folders appear. Served by the status socket's HTTP server (status_http.h): the
 * page at /, GET /runs, GET /history?run=I&since=N. Main thread; runs until SIGINT / SIGTERM
 * (exit 0); 2 on a usage error or an address it cannot listen on. */
#ifndef RLSERVE_BOARD_H
#define RLSERVE_BOARD_H

int board_main(int argc, char **argv);

#endif
