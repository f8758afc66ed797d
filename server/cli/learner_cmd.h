/* learner_cmd: the `rlserve learner` command (the learner process itself is server/learner). */
#ifndef RLSERVE_LEARNER_CMD_H
#define RLSERVE_LEARNER_CMD_H

int learner_main(int argc, char **argv);

#endif
