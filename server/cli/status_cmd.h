/* status_cmd: `rlserve status HOST:PORT [--json]`, a client of the learner's status socket.
 * Fetches /status and prints it as a table (or the raw JSON with --json) on stdout.
 * Exit codes: 0 printed, 1 could not fetch or read the status, 2 usage or bad address.
 * Main thread; blocking sockets with a 5 s timeout. */
#ifndef RLSERVE_STATUS_CMD_H
#define RLSERVE_STATUS_CMD_H

/* argv[0] is "status". */
int status_main(int argc, char **argv);

#endif
