"""What one `runner train` leaves set in its process, put back after each call from Python, so
that a notebook kernel's second and third run behave like its first: Hydra's global instance and
HydraConfig, the logging handlers Hydra's configure_log added (train.log's file handler among
them), signal handlers, torch's thread count, the environment, the working folder."""

import contextlib
import logging
import os
import signal
import threading

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2") if hasattr(signal, name))
LOGGERS = ("", "runner", "hydra")  # the root logger and the two that Hydra's job logging configures


@contextlib.contextmanager
def restored():
    import torch

    loggers = {name: _logger_state(logging.getLogger(name)) for name in LOGGERS}
    in_main_thread = threading.current_thread() is threading.main_thread()
    handlers = {s: signal.getsignal(s) for s in SIGNALS} if in_main_thread else {}
    threads, environ, cwd, raising = torch.get_num_threads(), dict(os.environ), os.getcwd(), logging.raiseExceptions
    disabled = logging.root.manager.disable
    try:
        yield
    finally:
        _clear_hydra()
        for name, state in loggers.items():
            _restore_logger(logging.getLogger(name), state)
        logging.disable(disabled)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        torch.set_num_threads(threads)
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        logging.raiseExceptions = raising


def _logger_state(logger: logging.Logger) -> tuple:
    return list(logger.handlers), list(logger.filters), logger.level, logger.propagate, logger.disabled


def _restore_logger(logger: logging.Logger, state: tuple) -> None:
    handlers, filters, level, propagate, disabled = state
    for handler in [h for h in logger.handlers if h not in handlers]:
        logger.removeHandler(handler)
        with contextlib.suppress(Exception):
            handler.close()  # train.log's FileHandler: the file is released
    for handler in handlers:
        if handler not in logger.handlers:
            logger.addHandler(handler)
    logger.filters[:] = filters
    logger.setLevel(level)
    logger.propagate, logger.disabled = propagate, disabled


def _clear_hydra() -> None:
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    HydraConfig.instance().cfg = None
