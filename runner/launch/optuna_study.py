"""Where an Optuna study lives (`hydra.sweeper.storage`): one answer for the sweeper that asks
for trials and for the trials that report to it from their own processes (joblib workers,
SLURM jobs). optuna is imported only here and only when a study is opened.

- null (the default): a SQLite file in the sweep folder, `<sweep dir>/optuna.db`;
- a URL with a scheme (`sqlite:///…`, `postgresql://…`, `mysql://…`, with a driver as
  `postgresql+psycopg2://…`): Optuna's RDBStorage;
- a plain file path: Optuna's journal file storage (JournalFileBackend), the one Optuna
  recommends for several processes or machines on a shared file system.

runner/config/policy.py decides which of these a config may name."""

from pathlib import Path
from typing import Any, Optional

DEFAULT_FILE = "optuna.db"
SQLITE_TIMEOUT_S = 60  # workers and trials write to one file: wait for its lock rather than fail


def storage_url(setting: Optional[str], sweep_dir) -> str:
    """The storage a sweep uses: the setting as given, or the SQLite file in its sweep folder."""
    if setting is None or not str(setting).strip():
        return f"sqlite:///{Path(sweep_dir).resolve() / DEFAULT_FILE}"
    return str(setting)


def is_rdb(url: str) -> bool:
    scheme, sep, _ = url.partition("://")
    return bool(sep) and scheme.replace("+", "").replace("_", "").isalnum()


def open_storage(url: str) -> Any:
    """Optuna's storage object for `url` (RDB for a URL, journal file for a path)."""
    import optuna

    if is_rdb(url):
        engine = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if url.startswith("sqlite") else {}
        return optuna.storages.RDBStorage(url, engine_kwargs=engine)
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(url)))


def load_trial(url: str, study_name: str, number: int) -> Any:
    """The live trial `number` of the study, as a trial object that can report and be pruned
    from any process (what a job does each epoch)."""
    import optuna

    storage = open_storage(url)
    study = optuna.load_study(study_name=study_name, storage=storage)
    study_id = storage.get_study_id_from_name(study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
    return optuna.trial.Trial(study, trial_id)
