"""The loop of hydra/sweeper=optuna: open (or continue) the study, then ask a trial, run its
job(s) through Hydra's launcher, tell the study how it went, until the study holds n_trials.

Each job of trial N runs in `<sweep dir>/<N>` (`<N>/repeat<r>` with repeats > 1), with the job
overrides hydra.sweeper.trial=N and hydra.sweeper.repeat=r, by which the job finds its live trial
to report to each epoch (runner/launch/trial_link.py). A trial is told COMPLETE with its
objective (the mean over its repeats), PRUNED when its run stopped with stop_reason "pruned",
FAIL when a job raised or the objective is missing or not finite."""

import logging
import math
import shlex
from pathlib import Path
from typing import Any, List, Optional

from omegaconf import OmegaConf

from runner.errors import ConfigError, RunFault
from runner.launch import optuna_trials, optuna_workers, search_settings, search_space
from runner.launch.optuna_study import is_rdb, open_storage, storage_url
from runner.record.run_folders import folders_holding_runs, read_run

log = logging.getLogger("runner")
FAILS_IN_A_ROW = 3  # a job that raises every time (a bug, no memory) ends the search, not n_trials attempts
STOPPED = ("interrupted", "preempted")  # a trial cut off by a signal: re-queued, and this worker stops


class Search:
    def __init__(self, sweeper: Any, arguments: List[str]) -> None:
        self.launcher = sweeper.launcher
        self.config = sweeper.config
        self.conf = self.config.hydra.sweeper
        self.arguments = list(arguments)
        self.sweep_dir = Path(str(self.config.hydra.sweep.dir)).absolute()
        self.batched = "basic_launcher" not in str(OmegaConf.select(self.config, "hydra.launcher._target_"))
        self.fails = 0

    # ---------------------------------------------------------------- setting up

    def run(self) -> List[Any]:
        try:
            space = search_space.build(OmegaConf.to_container(self.conf.params), self.arguments)
            search_settings.check_settings(self.conf, self.config)
        except ConfigError as err:
            raise RunFault(str(err), 2) from None
        self.space, self.distributions = space, space.distributions()
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        self.study, self.storage = self.open_study()
        self.refuse_strangers()
        with optuna_trials.working(self.sweep_dir) as me:
            self.me = me
            with optuna_workers.helping(self.config, self.conf.n_jobs if not self.batched else 1):
                self.loop()
        if not optuna_workers.is_helper():
            self.finish()
        return []

    def open_study(self):
        import optuna

        url = storage_url(self.conf.storage, self.sweep_dir)
        if not is_rdb(url):  # a journal file: its folder may not exist yet
            Path(url).parent.mkdir(parents=True, exist_ok=True)
        try:
            storage = open_storage(url)
        except Exception as err:  # noqa: BLE001 (a server that does not answer, a driver not installed)
            raise RunFault(f"hydra.sweeper.storage: cannot open '{url}': {_first_line(err)}", 2) from None
        grid = self.space.grid() if self.conf.sampler.name == "grid" else None
        direction = search_settings.direction_of(self.conf, self.config)
        study = optuna.create_study(
            study_name=self.conf.study_name,
            storage=storage,
            sampler=search_settings.make_sampler(self.conf.sampler, grid),
            pruner=search_settings.make_pruner(self.conf.pruner),
            direction=direction,
            load_if_exists=True,
        )
        if study.direction.name.lower() != direction:
            raise RunFault(
                f"hydra.sweeper.direction: the study '{self.conf.study_name}' in {url} was made to "
                f"{study.direction.name.lower()}, not {direction}; use another hydra.sweeper.study_name or sweep folder",
                2,
            )
        self.n_trials = self.conf.n_trials
        if grid is not None:
            self.n_trials = min(self.n_trials, math.prod(len(v) for v in grid.values()))
        return study, storage

    def refuse_strangers(self) -> None:
        """Numbered folders holding runs that the study has not reached yet (another study's, or a
        grid sweep's): trial N would train over them."""
        known = len(self.study.get_trials(deepcopy=False))
        strangers = [
            p.name
            for p in sorted(self.sweep_dir.iterdir(), key=lambda p: p.name)
            if p.name.isdigit() and int(p.name) >= known and folders_holding_runs(p)
        ]
        if strangers:
            raise RunFault(
                f"{self.sweep_dir} holds runs in {', '.join(strangers[:3])} that study '{self.conf.study_name}' "
                f"({known} trials) did not make: delete them, or choose another hydra.sweep.dir",
                2,
            )

    # ---------------------------------------------------------------- the loop

    def loop(self) -> None:
        per_batch = self.conf.n_jobs if self.batched else 1
        while True:
            with optuna_trials.asking(self.sweep_dir):
                dead = optuna_trials.requeue_dead(self.study, self.storage, self.sweep_dir, self.me)
                if dead:
                    log.info(f"optuna: trial(s) {', '.join(map(str, dead))} died with their process: FAIL, re-queued")
                trials = optuna_trials.ask_next(self.study, self.distributions, self.n_trials, per_batch, str, self.me)
            if not trials:
                return
            if not self.run_trials(trials):
                return

    def run_trials(self, trials: List[Any]) -> bool:
        """Repeat 0 of each trial, then its other repeats unless it was pruned; tells the study.
        False: stop asking (a trial was cut off by a signal, or jobs keep failing)."""
        first = self.launch([(t, 0) for t in trials])
        rest = [
            (t, r) for t in trials if first[t.number].get("outcome") == "value" for r in range(1, self.conf.repeats)
        ]
        later = self.launch(rest) if rest else {}
        go_on = True
        for trial in trials:
            outcomes = [first[trial.number], *later.get(trial.number, [])]
            go_on = self.tell(trial, outcomes) and go_on
        return go_on

    def launch(self, jobs) -> dict:
        """{trial number: outcome of repeat 0} for repeat-0 jobs, {number: [outcomes]} for later ones."""
        batch = [self.job_overrides(t, r) for t, r in jobs]
        returns = self.launcher.launch(batch, initial_job_idx=jobs[0][0].number)
        out: dict = {}
        for (trial, repeat), job in zip(jobs, returns):
            outcome = self.outcome(trial, repeat, job)
            if repeat == 0:
                out[trial.number] = outcome
            else:
                out.setdefault(trial.number, []).append(outcome)
        return out

    def folder(self, trial: Any, repeat: int) -> str:
        return f"{trial.number}/repeat{repeat}" if self.conf.repeats > 1 else str(trial.number)

    def job_overrides(self, trial: Any, repeat: int) -> List[str]:
        params = [f"{key}={search_space.value_text(value)}" for key, value in trial.params.items()]
        own = [f"hydra.sweeper.trial={trial.number}", f"hydra.sweeper.repeat={repeat}"]
        own.append(f"hydra.sweep.subdir={self.folder(trial, repeat)}")
        if self.conf.repeats > 1 and self.conf.repeat_over == "cv_fold":
            own.append(f"data.cv_fold={repeat}")
        elif repeat > 0:
            own.append(f"seed={int(OmegaConf.select(self.config, 'seed', default=0)) + repeat}")
        return [*self.space.fixed, *params, *own]

    def outcome(self, trial: Any, repeat: int, job: Any) -> dict:
        try:
            returned = job.return_value  # raises what the job raised
        except Exception as err:  # noqa: BLE001 (any failure of one trial: the study records it)
            log.warning(f"optuna: trial {trial.number} failed: {_first_line(err)}")
            return {"outcome": "error", "error": err}
        results = (
            returned if isinstance(returned, dict) else read_run(self.sweep_dir / self.folder(trial, repeat)).results
        )
        results = results or {}
        if results.get("stop_reason") == "pruned":
            return {"outcome": "pruned"}
        if results.get("stop_reason") in STOPPED:
            return {"outcome": "stopped"}
        value = objective(results)
        return {"outcome": "value", "value": value} if value is not None else {"outcome": "no value"}

    def tell(self, trial: Any, outcomes: List[dict]) -> bool:
        from optuna.trial import TrialState

        kinds = [o["outcome"] for o in outcomes]
        if "stopped" in kinds:
            trial.set_user_attr(optuna_trials.REQUEUED, True)
            _tell(self.study, trial, state=TrialState.FAIL)
            self.study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            return False
        if kinds[0] == "pruned":
            _tell(self.study, trial, state=TrialState.PRUNED)
        elif all(k == "value" for k in kinds):
            _tell(self.study, trial, sum(o["value"] for o in outcomes) / len(outcomes))
        else:
            _tell(self.study, trial, state=TrialState.FAIL)
        self.fails = self.fails + 1 if "error" in kinds else 0
        if self.fails >= FAILS_IN_A_ROW:
            error = next(o["error"] for o in outcomes if o["outcome"] == "error")
            raise RunFault(f"optuna: {FAILS_IN_A_ROW} trials in a row failed; the last: {_first_line(error)}", 1)
        return True

    # ---------------------------------------------------------------- the end

    def finish(self) -> None:
        from optuna.trial import TrialState

        complete = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if complete:
            best = self.study.best_trial
            OmegaConf.save(
                OmegaConf.create({"name": "optuna", "best_params": best.params, "best_value": best.value}),
                self.sweep_dir / "optimization_results.yaml",
            )
        text = self.report()
        if text:
            print(text, flush=True)
        url = storage_url(self.conf.storage, self.sweep_dir)
        print(f"runner: the study is in {url} (in a browser: optuna-dashboard {url})", flush=True)

    def report(self) -> Optional[str]:
        try:
            from runner.launch.trials_report import write_trials_report
        except ImportError:
            write_trials_report = None
        if write_trials_report is not None:
            return write_trials_report(self.study, self.sweep_dir, self.space.fixed)
        return best_line(self.study, self.space.fixed)


def _tell(study: Any, trial: Any, *args, **kwargs) -> None:
    """study.tell; the grid sampler calls study.stop() once its last point is told, which Optuna
    allows only inside study.optimize: the trial is stored by then, and the loop stops on its own."""
    try:
        study.tell(trial, *args, **kwargs)
    except RuntimeError as err:
        if "Study.stop" not in str(err):
            raise


def best_line(study: Any, fixed: List[str]) -> str:
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return "runner: no trial completed"
    best = study.best_trial
    params = [f"{k}={search_space.value_text(v)}" for k, v in best.params.items()]
    return f"runner: best trial {best.number} ({best.value:.6g}): runner train {shlex.join([*fixed, *params])}"


def objective(results: dict) -> Optional[float]:
    """The trial's value: the monitored metric of the tested weights (runner/launch/trial_link.py)."""
    from runner.launch.trial_link import objective as job_objective

    return job_objective(results)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0].strip() if lines else type(err).__name__
