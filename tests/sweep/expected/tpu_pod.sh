#!/bin/bash
# The sweep "ablation_pe" of experiments/gt_pattern/config.py:smoke: 4 runs,
# on the TPU VM pod gt-pod (zone us-central2-b): the runs one after another, each on every worker at once;
# --distributed lets each worker's jax.distributed.initialize() find the pod's other workers.
# Nothing here creates the TPU VM. Before:
#  - gcloud is authenticated for the project, and can ssh to the workers;
#  - every worker has this repository checked out at $REPO (relative to the remote home), with its Python
#    environment ($PYTHON) and its datasets, on a disk all workers share (e.g. a Filestore/NFS mount):
#    every worker writes each checkpoint, and a run is finished once its final.json is there.
# Then, from the repository root here (the runs' paths are relative to it, here and on the workers):
#
#   bash runs/gt_pattern/sweeps/ablation_pe-smoke/tpu_pod.sh
#   REPO=src/diagram-transformers bash runs/gt_pattern/sweeps/ablation_pe-smoke/tpu_pod.sh
#
# (the second: the workers' checkout is at src/diagram-transformers).
# A finished run is skipped, and running the script again resumes an interrupted one. Each run's output,
# from all workers, also goes to runs/gt_pattern/sweeps/ablation_pe-smoke/logs/<run name>.log here.
set -euo pipefail
REPO=${REPO:-diagram-transformers}
PYTHON=python
TPU=gt-pod
ZONE=us-central2-b
PROJECT=my-project
LOGS=runs/gt_pattern/sweeps/ablation_pe-smoke/logs

# run WORKDIR ARG...: `$PYTHON ARG... --distributed` on every worker in $REPO, unless WORKDIR is finished.
run() {
  local workdir=$1 finished args command
  shift
  finished=$(printf %q "$workdir/final.json")
  args=$(printf '%q ' "$@")
  command="cd $REPO && if [ -e $finished ]; then echo Finished: $finished; else $PYTHON $args--distributed; fi"
  gcloud compute tpus tpu-vm ssh "$TPU" --zone="$ZONE" --project="$PROJECT" --worker=all --command="$command" \
      2>&1 | tee -a "$LOGS/${workdir##*/}.log"
}

run runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=41 -m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=41 --config.model.pe=lap_sym --config.seed=41
run runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=95 -m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=95 --config.model.pe=lap_sym --config.seed=95
run runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=41 -m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=41 --config.model.pe=none --config.seed=41
run runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=95 -m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=95 --config.model.pe=none --config.seed=95
