#!/bin/bash
# The sweep "ablation_pe" of experiments/gt_pattern/config.py:smoke: 4 runs,
# on the TPU VM pod gt-pod (zone us-central2-b): the runs one after another, each on every worker at once;
# --distributed lets each worker's jax.distributed.initialize() find the pod's other workers.
# Nothing here creates the TPU VM. Before:
#  - gcloud is authenticated for the project, and can ssh to the workers;
#  - every worker has this repository checked out at $REPO (relative to the remote home), with its Python
#    environment ($PYTHON) and its datasets, on a disk all workers share (e.g. a Filestore/NFS mount):
#    every worker writes each checkpoint, and a run is done once its final.json says complete or diverged.
# Then, from the repository root here (the runs' paths are relative to it, here and on the workers):
#
#   bash runs/gt_pattern/sweeps/ablation_pe-smoke/tpu_pod.sh
#   REPO=src/diagram-transformers bash runs/gt_pattern/sweeps/ablation_pe-smoke/tpu_pod.sh
#
# (the second: the workers' checkout is at src/diagram-transformers).
# A finished or diverged run is skipped, and running the script again resumes an interrupted one.
# Each run's output, from all workers, also goes to runs/gt_pattern/sweeps/ablation_pe-smoke/logs/<run name>.log here.
set -euo pipefail
REPO=${REPO:-diagram-transformers}
PYTHON=python
TPU=gt-pod
ZONE=us-central2-b
PROJECT=my-project
LOGS=runs/gt_pattern/sweeps/ablation_pe-smoke/logs

# status WORKDIR: complete, diverged, incomplete or not started (research/rundir.py), read on the workers.
STATUS='import sys; from research import rundir; print(rundir.status(sys.argv[1]))'
# run WORKDIR ARG...: `$PYTHON ARG... --distributed` on every worker in $REPO, unless WORKDIR is complete or
# diverged.
run() {
  local workdir=$1 quoted args status command
  shift
  quoted=$(printf %q "$workdir")
  args=$(printf '%q ' "$@")
  status="$PYTHON -c $(printf %q "$STATUS") $quoted"
  command="cd $REPO && case \$($status) in complete) echo Finished: $quoted ;; diverged) echo Diverged, not rerun: $quoted ;; *) $PYTHON $args--distributed ;; esac"
  gcloud compute tpus tpu-vm ssh "$TPU" --zone="$ZONE" --project="$PROJECT" --worker=all --command="$command" \
      2>&1 | tee -a "$LOGS/${workdir##*/}.log"
}

run runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=41 -m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=41 --config.model.pe=lap_sym --config.seed=41
run runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=95 -m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=95 --config.model.pe=lap_sym --config.seed=95
run runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=41 -m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=41 --config.model.pe=none --config.seed=41
run runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=95 -m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=95 --config.model.pe=none --config.seed=95
