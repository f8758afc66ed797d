#!/usr/bin/env bash
# The Kubernetes manifests' own command lines, live on 127.0.0.1: a learner started from the
# StatefulSet's command line (its ConfigMap, Secret and volume made as files, 0.0.0.0 and the
# ports mapped to free ports on 127.0.0.1) answers the manifest's probe paths (/healthz,
# /status); a worker started from the worker Deployment's command line (the Service name
# replaced by 127.0.0.1) joins it; the learner stopped as a pod is (SIGTERM) and started again
# with the same command line resumes from the volume (--auto-resume) and the worker rejoins.
. "$(dirname "$0")/../integration/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
check="python3 $root/tests/deploy/check_manifests.py"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
lport=$(free_port)
sport=$(free_port)
head -c 32 /dev/urandom | base64 >"$WORK/token"
export RLSERVE_TOKEN_FILE=$WORK/token
mapfile -d '' -t largv < <($check cmdline "$root" k8s-learner "$WORK/learner-pod" "7878=$lport" "8080=$sport")
mapfile -d '' -t wargv < <($check cmdline "$root" k8s-worker "$WORK/worker-pod" "7878=$lport")
[ "${#largv[@]}" -gt 2 ] && [ "${largv[1]}" = learner ] || fail "no learner command line: ${largv[*]}"
[ "${#wargv[@]}" -gt 2 ] && [ "${wargv[1]}" = worker ] || fail "no worker command line: ${wargv[*]}"
echo "learner: rlserve ${largv[*]:1}"
echo "worker:  rlserve ${wargv[*]:1}"
data=$WORK/learner-pod/data/run
probe() { curl -fsS --max-time 5 "http://127.0.0.1:$sport$1"; }

start_learner() {
  "$RLSERVE" "${largv[@]:1}" >>"$WORK/learner.log" 2>&1 &
  learner=$!
  PIDS+=("$learner")
  wait_for 30 probe /healthz >/dev/null 2>&1 || fail "the learner's /healthz did not answer"
}
start_learner
# Every probe path of the manifest answers 200 on the live learner.
mapfile -t paths < <($check probes "$root" | sort -u)
[ "${#paths[@]}" -ge 2 ] || fail "the manifest has ${#paths[@]} probe paths"
for p in "${paths[@]}"; do
  code=$(curl -s -o "$WORK/probe.out" -w '%{http_code}' --max-time 5 "http://127.0.0.1:$sport$p")
  [ "$code" = 200 ] || fail "probe $p answered $code: $(head -c 300 "$WORK/probe.out")"
  echo "probe $p: 200 $(head -c 60 "$WORK/probe.out" | tr '\n' ' ')"
done
probe /status | python3 -c 'import json,sys; json.load(sys.stdin)["learner"]' ||
  fail "/status is not the learner's JSON"

"$RLSERVE" "${wargv[@]:1}" >"$WORK/worker.log" 2>&1 &
worker=$!
PIDS+=("$worker")
wait_for 30 grep -q "worker .* joined" "$WORK/learner.log" || fail "the worker did not join"
joined_rows() {
  probe /status | python3 -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)["workers"]) >= 1 else 1)'
}
wait_for 10 joined_rows || fail "/status shows no worker row"
echo "worker joined: $(grep -m1 'worker .* joined' "$WORK/learner.log")"

# The pod goes away (SIGTERM, as the kubelet stops it) once the volume holds a checkpoint.
wait_for 120 test -s "$data/checkpoint.ckpt" || fail "no checkpoint on the volume"
kill -TERM "$learner"
wait "$learner"
rc=$?
[ "$rc" -eq 130 ] || fail "the learner stopped with $rc (expected 130: interrupted, checkpoint saved)"
saved=$(ckpt_env_steps "$data/checkpoint.ckpt")
echo "learner stopped with a checkpoint at $saved env steps"
wait_for 15 grep -q "connection to the learner lost" "$WORK/worker.log" || fail "the worker did not notice"
n_joined=$(grep -c "worker .* joined" "$WORK/learner.log")
start_learner
grep -q "resumed from .*checkpoint.ckpt: $saved env steps" "$WORK/learner.log" ||
  fail "the restarted learner did not resume from the volume at $saved env steps"
rejoined() { [ "$(grep -c "worker .* joined" "$WORK/learner.log")" -gt "$n_joined" ]; }
wait_for 30 rejoined || fail "the worker did not rejoin the restarted learner"
for p in "${paths[@]}"; do probe "$p" >/dev/null || fail "probe $p after the restart"; done
echo "PASS: the manifests' learner and worker ran, probes ${paths[*]} answered, the restarted" \
  "learner resumed from the volume at $saved env steps and the worker rejoined"
end_test
