#!/bin/bash
# One process of one run of the sweep "ablation_pe" of experiments/gt_pattern/config.py:smoke: 4 runs.
# sweep.sbatch starts it once per GPU (srun), from the repository root, with COORDINATOR (host:port of process 0)
# exported; Slurm sets SLURM_ARRAY_TASK_ID (the run's number), SLURM_NTASKS, SLURM_PROCID and SLURM_LOCALID.
# A finished run exits at once, a diverged one with 3; another resumes from its last checkpoint.
set -euo pipefail
: "${COORDINATOR:?set COORDINATOR=host:port of process 0 (sweep.sbatch exports it)}"
PYTHON=python

case "${SLURM_ARRAY_TASK_ID:?set SLURM_ARRAY_TASK_ID to the number of a run}" in
  0)  # pe=lap_sym,seed=41
    workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=41
    args=(-m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=41 --config.model.pe=lap_sym --config.seed=41) ;;
  1)  # pe=lap_sym,seed=95
    workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=95
    args=(-m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=lap_sym,seed=95 --config.model.pe=lap_sym --config.seed=95) ;;
  2)  # pe=none,seed=41
    workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=41
    args=(-m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=41 --config.model.pe=none --config.seed=41) ;;
  3)  # pe=none,seed=95
    workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=95
    args=(-m experiments.run --config=experiments/gt_pattern/config.py:smoke --workdir=runs/gt_pattern/sweeps/ablation_pe-smoke/runs/pe=none,seed=95 --config.model.pe=none --config.seed=95) ;;
  *) echo "task.sh: no run number $SLURM_ARRAY_TASK_ID in this sweep; its runs are 0-3." >&2; exit 2 ;;
esac
# A run is done once its final.json parses and says complete, or diverged (research/rundir.py).
status=$("$PYTHON" -c 'import sys; from research import rundir; print(rundir.status(sys.argv[1]))' "$workdir")
case "$status" in
  complete) echo "Run $SLURM_ARRAY_TASK_ID is finished: $workdir/final.json says complete."; exit 0 ;;
  diverged) echo "Run $SLURM_ARRAY_TASK_ID diverged ($workdir/final.json); not rerun." >&2; exit 3 ;;
esac
# The GPU: every process sees all the GPUs Slurm gave the job on its node (a step gets all of the job's GPUs),
# and jax.distributed.initialize keeps device number SLURM_LOCALID for this process (its default under Slurm).
# Neither CUDA_VISIBLE_DEVICES=$SLURM_LOCALID nor srun --gpus-per-task=1: the process would see a single GPU
# numbered 0 while JAX asks for number SLURM_LOCALID, and hiding the other GPUs stops NCCL's peer-to-peer.
exec "$PYTHON" "${args[@]}" --coordinator_address="$COORDINATOR" --num_processes="$SLURM_NTASKS" \
    --process_id="$SLURM_PROCID"
