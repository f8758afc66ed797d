#!/usr/bin/env bash
# deploy/slurm/rlserve.sbatch on a real single-node Slurm cluster started by this test:
# munged with its own key and socket, slurmctld and slurmd with a slurm.conf in a temporary
# folder (nothing from /etc is used). The job runs the learner and 2 workers as concurrent
# `srun --exact` steps and must solve CartPole-v1 (eval >= 475, confirmed) within 100k env steps.
# Then a resubmission of the same run resumes from its checkpoint. Every daemon is stopped by
# PID and the folder removed on exit; every wait is bounded. The node's NodeAddr is a host name
# (this machine's, when it resolves to 127.0.0.1, else localhost), so the script's path from
# NodeAddr to the learner's --listen and the workers' --connect goes through a name.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then skip_test "slurm: needs root (slurmd runs jobs as root here)"; fi
for d in slurmctld slurmd munged sbatch sinfo; do
  command -v "$d" >/dev/null 2>&1 ||
    skip_test "slurm: $d is not installed (deploy/install-deps.sh --test installs it)"
done
t0=$SECONDS
S=$WORK/slurm
MUNGED="" CTLD="" SLURMD=""
stop_pid() { # PID: TERM, up to 5 s, then KILL
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
slurm_cleanup() {
  if [ -n "$CTLD" ] && kill -0 "$CTLD" 2>/dev/null; then
    # Jobs left by a failure: cancel them while the daemons still run (bounded).
    scancel --quiet --full --user=root 2>/dev/null
    for _ in $(seq 100); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  stop_pid "$SLURMD"
  stop_pid "$CTLD"
  stop_pid "$MUNGED"
  cleanup
}
trap slurm_cleanup EXIT
mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/log"
chmod 755 "$S" "$S/munge"

# munged: its own key, socket, pid, log and seed files.
dd if=/dev/urandom of="$S/munge.key" bs=1024 count=1 status=none
chmod 400 "$S/munge.key"
munged -F -S "$S/munge/munge.sock" --key-file "$S/munge.key" --pid-file "$S/munged.pid" \
  --log-file "$S/log/munged.log" --seed-file "$S/munge.seed" --force >"$S/log/munged.out" 2>&1 &
MUNGED=$!
wait_for 10 test -S "$S/munge/munge.sock" || fail "munged did not create its socket"

host=$(hostname)
# NodeAddr: a name for 127.0.0.1 (the test's traffic stays on loopback).
node_addr=$host
getent ahostsv4 "$host" 2>/dev/null | grep -q '^127\.0\.0\.1 ' || node_addr=localhost
ctl_port=$((20000 + $$ % 20000))
cat >"$S/slurm.conf" <<EOF
ClusterName=rlservetest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$((ctl_port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$host NodeAddr=$node_addr CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
export SLURM_CONF=$S/slurm.conf
slurmctld -D -f "$SLURM_CONF" >"$S/log/slurmctld.out" 2>&1 &
CTLD=$!
slurmd -D -f "$SLURM_CONF" >"$S/log/slurmd.out" 2>&1 &
SLURMD=$!
node_idle() { [ "$(sinfo -h -n "$host" -o %t 2>/dev/null)" = idle ]; }
if ! wait_for 40 node_idle; then
  sinfo 2>&1
  tail -n 20 "$S/log/slurmctld.log" "$S/log/slurmd.log" "$S/log/munged.log" 2>/dev/null
  fail "node $host not idle within 40 s"
fi
echo "[$((SECONDS - t0)) s] single-node cluster up: $(sinfo -h -o '%P %D %t %c')"

# The job: 3 tasks (learner + 2 workers) on the node's 2 CPUs, hence --overcommit.
run=$WORK/runs/cartpole
submit() {
  RLSERVE_RUN_DIR=$run timeout 150 sbatch --wait --parsable --job-name=cartpole --nodes=1 --ntasks=3 \
    --overcommit --time=5 --chdir="$WORK" --output="$WORK/job-%j.out" \
    "$root/deploy/slurm/rlserve.sbatch" "$@"
}
# The bar: greedy eval (the preset's 100 episodes) >= 475, confirmed, within 100k env steps.
submit --set seed=1 --set env_steps_budget=100000 --set progress_interval_s=1 >"$WORK/jobid" 2>"$WORK/sbatch.err"
rc=$?
job=$(tail -n 1 "$WORK/jobid")
echo "[$((SECONDS - t0)) s] job $job ended with sbatch status $rc"
for f in "$WORK"/job-*.out; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
[ "$rc" -eq 0 ] || { cat "$WORK/sbatch.err"; tail -n 20 "$S/log/slurmctld.log"; fail "job $job ended with $rc (expected 0: solved)"; }
[ -s "$run/summary.json" ] || fail "no summary.json in the run folder"
solved=$(json_field "$run/summary.json" solved)
eval_mean=$(json_field "$run/summary.json" eval_mean)
steps=$(json_field "$run/summary.json" env_steps)
echo "summary: solved=$solved eval_mean=$eval_mean env_steps=$steps"
[ "$solved" = True ] || fail "the run did not solve"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 475 else 1)" "$eval_mean" ||
  fail "greedy eval $eval_mean < 475"
[ "$steps" -le 100000 ] || fail "solved after $steps env steps (budget 100000)"
[ "$(stat -c %a "$run/token")" = 600 ] || fail "token file is not mode 600"
for i in 0 1; do
  grep -q "first weights" "$run/worker-$i.log" || fail "worker $i (a job step) got no weights"
done
# The node's name may resolve to 127.0.0.1 or, for localhost on a stock Debian /etc/hosts, to
# ::1 first: either loopback address is the workers' way in.
grep -qE "joined from (127\.0\.0\.1|\[::1\]):" "$run/learner.log" ||
  fail "no worker joined the learner over loopback: $(grep -m2 'joined from' "$run/learner.log")"
grep -q "listening on $node_addr:0 " "$run/learner.log" ||
  fail "the learner did not listen on the node's address $node_addr"
grep -q "learner listening on $node_addr:[0-9]" "$WORK"/job-*.out ||
  fail "the workers were not given the node's address $node_addr"
[ -s "$run/checkpoint.ckpt" ] || fail "no checkpoint in the run folder"

# Resubmission: the same run folder resumes from its checkpoint.
submit >"$WORK/jobid2" 2>"$WORK/sbatch2.err"
rc=$?
echo "[$((SECONDS - t0)) s] resubmitted job $(tail -n 1 "$WORK/jobid2") ended with $rc"
grep -q "resuming the run in $run" "$WORK"/job-*.out || fail "the resubmitted job did not resume"
grep -q "resumed from " "$run/learner.log" || fail "the learner did not resume from the checkpoint"
echo "PASS: Slurm job solved CartPole-v1 (eval $eval_mean at $steps env steps), resubmission resumed ($((SECONDS - t0)) s)"
