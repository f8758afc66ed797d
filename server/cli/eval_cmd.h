/* eval_cmd: the `rlserve eval` command. */
#ifndef RLSERVE_EVAL_CMD_H
#define RLSERVE_EVAL_CMD_H

int eval_main(int argc, char **argv);

#endif
