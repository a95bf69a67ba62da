"""runner's Hydra plugins: hydra/sweeper=job_list (see job_list_sweeper.py)."""
