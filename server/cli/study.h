/* study: `rlserve study --preset NAME --runs R [--out DIR] [--jobs J] [--set key=value ...]`.
 * Runs the preset with seeds 1..R (seed + i - 1 when --set seed= is given), J child processes
 * at a time (default: the online cores), each an in-process onpolicy_run into DIR/run-SEED.
 * Then writes, from the runs' metrics.jsonl, DIR/curve.csv (per metrics row: episode, mean and
 * 95% interval over runs of the return, the episode length and, for prediction, the value
 * RMSE), DIR/curve.svg (the learning curve with its interval band: value RMSE for prediction,
 * episode length on MountainCar, return otherwise) and DIR/study.json (end values: mean and 95%
 * interval of the last row, of the runs' eval_mean, train_mean_last100 and value_rmse, the
 * median solved_episode, and how many runs reached their target).
 * On-policy algorithms only (the DQN / DDPG learner runs through `rlserve run`). Main thread;
 * exits 0 when every run reached its target, 1 when not, 2 on an error. */
#ifndef RLSERVE_STUDY_H
#define RLSERVE_STUDY_H

int study_main(int argc, char **argv);

#endif
