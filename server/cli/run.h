/* run: the `rlserve run` command (learner + N local workers as child processes). */
#ifndef RLSERVE_RUN_H
#define RLSERVE_RUN_H

int run_main(int argc, char **argv);

#endif
