"""Graph and layout transformers for diagrams, in JAX/Flax."""

import setuptools

setuptools.setup(
  name="diagram-transformers",
  version="0.1.0",
  description="A Flax model zoo of graph and layout transformers for diagrams, with paper reproductions.",
  python_requires=">=3.11",
  packages=[
    *setuptools.find_packages(
      include=["research", "research.*", "experiments", "experiments.*", "configs", "configs.*"]
    ),
    "research.papers",  # papers/: the papers' reported numbers (research/analysis/papers.py)
  ],
  package_dir={"research.papers": "papers"},
  package_data={
    "research.papers": ["*.yaml"],
    "research.data.zinc": ["tiny/*"],  # the shipped fixture of ZINC's `tiny` configs (smoke runs)
  },
  install_requires=[
    "jax>=0.10.2",
    "flax>=0.12.8",
    "optax",
    "orbax-checkpoint",
    "ml-collections",
    "einops",
    "absl-py",
    "tensorflow-datasets",
    "array_record",
    "grain",
    "tensorboardX",
    "matplotlib",
    "pandas",
    "scipy",
    "numpy",
    "threadpoolctl",
  ],
  extras_require={
    "test": ["pytest", "pytest-xdist", "networkx"],
    "baselines": ["torch", "torch-geometric"],  # benchmarks/ against PyTorch Geometric
  },
)
