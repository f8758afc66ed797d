/* study: `rlserve study --preset NAME --runs R [--out DIR] [--jobs J] [--set key=value ...]`.
 * Runs the preset with seeds 1..R (seed + i - 1 when --set seed= is given). An on-policy preset:
 * J child processes at a time (default: the online cores), each an in-process onpolicy_run
 * into DIR/run-SEED.
 * Then writes, from the runs' metrics.jsonl, DIR/curve.csv (per metrics row: episode, mean and
 * 95% interval over runs of the return, the episode length and, for prediction, the value
 * RMSE), DIR/curve.svg (the learning curve with its interval band: value RMSE for prediction,
 * episode length on MountainCar, return otherwise) and DIR/study.json (end values: mean and 95%
 * interval of the last row, of the runs' eval_mean, train_mean_last100 and value_rmse, the
 * median solved_episode, and how many runs reached their target).
 * A preset the learner serves (DQN, DDPG/TD3, any ALGO_ACTOR_LEARNER row) runs each seed as
 * `rlserve run` (a learner and its workers) into DIR/run-SEED, J at a time (default: the online
 * cores divided by 1 + workers); then DIR/curve.csv holds, on 101 env-step points from 0 to
 * the longest run, the runs still training and the mean and 95% interval of the training
 * return and of the latest greedy evaluation (a run that ended counts with its last values),
 * DIR/curve.svg the evaluation curve, DIR/curve-train.svg the training one, DIR/study.json and
 * DIR/table.md the env steps and wall seconds to a confirmed solve (median and range over the
 * solved runs) and one row per seed. Main thread; exits 0 when every run reached its target,
 * 1 when not, 2 on an error. */
#ifndef RLSERVE_STUDY_H
#define RLSERVE_STUDY_H

int study_main(int argc, char **argv);

#endif
