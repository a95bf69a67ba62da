"""A run with torch's default threads on a busy machine says how to avoid waiting for cores."""

import logging
from types import SimpleNamespace

import pytest
import torch

import runner.fit.cpu_threads as cpu_threads
from runner.fit.cpu_threads import busy_cores_advice


def test_advice_only_when_torch_threads_outnumber_the_idle_cores():
    assert busy_cores_advice(torch_threads=2, cores=2, busy=0.3) == ""  # a little background work takes no core
    assert busy_cores_advice(torch_threads=1, cores=2, busy=1.9) == ""
    assert busy_cores_advice(torch_threads=8, cores=8, busy=2.4) == (
        "other work keeps 2.4 of 8 cores busy (measured over 0.2 s): torch's 8 threads would wait on each other for cores "
        "other work holds, which can make epochs several times slower; trainer.threads=6 fits the idle cores"
    )
    assert "trainer.threads=1 fits" in busy_cores_advice(torch_threads=2, cores=2, busy=3.0)  # never advises 0


def proc_stat(busy: int, idle: int) -> str:
    """A 2-core /proc/stat whose `cpu` line has `busy` user ticks and `idle` idle ticks."""
    return f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\nintr 1\n"


def test_busy_cores_are_measured_over_the_window_less_this_process(monkeypatch, tmp_path):
    """Over the window (100 ticks = 0.5 s a core at 100 Hz on 2 cores) the machine was 75% busy:
    1.5 cores, of which this process used 0.25 s of CPU in 0.5 s, half a core: others held one."""
    samples = iter([proc_stat(busy=1000, idle=1000), proc_stat(busy=1075, idle=1025)])
    own = iter([SimpleNamespace(user=2.0, system=0.5), SimpleNamespace(user=2.2, system=0.55)])
    monkeypatch.setattr(cpu_threads, "_read_proc_stat", lambda: next(samples))
    monkeypatch.setattr(cpu_threads.os, "times", lambda: next(own))
    monkeypatch.setattr(cpu_threads.os, "sysconf", lambda name: 100)
    monkeypatch.setattr(cpu_threads.time, "sleep", lambda s: None)
    assert cpu_threads.busy_cores_of_others() == pytest.approx(1.0)


def test_no_proc_stat_means_no_measurement_and_no_warning(monkeypatch):
    def missing(*args, **kwargs):
        raise FileNotFoundError("/proc/stat")

    monkeypatch.setattr(cpu_threads, "_read_proc_stat", missing)
    monkeypatch.setattr(cpu_threads.time, "sleep", lambda s: None)
    assert cpu_threads.busy_cores_of_others() is None


@pytest.fixture
def busy_machine(monkeypatch):
    """2 cores, one and a half of them taken by other work; returns the list of thread counts the run sets."""
    calls = []
    monkeypatch.setattr(cpu_threads, "_warned", False)
    monkeypatch.setattr(cpu_threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(cpu_threads, "busy_cores_of_others", lambda: 1.5)
    monkeypatch.setattr(cpu_threads.torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(cpu_threads.torch, "set_num_threads", calls.append)
    return calls


def test_default_threads_on_a_busy_machine_warn_once_a_process(busy_machine, caplog):
    with caplog.at_level(logging.WARNING, logger="runner"):
        cpu_threads.set_threads(0, torch.device("cpu"))
        cpu_threads.set_threads(0, torch.device("cpu"))  # a sweep's next run in the same process
    assert [r.getMessage() for r in caplog.records] == [busy_cores_advice(2, 2, 1.5)]
    assert busy_machine == []  # torch's default kept


def test_a_high_load_average_with_idle_cores_says_nothing(busy_machine, monkeypatch, caplog):
    """The load average lags (1.7 on an idle 2-core machine after a test run): only the measurement counts."""
    monkeypatch.setattr(cpu_threads.os, "getloadavg", lambda: (1.7, 1.2, 0.8))
    monkeypatch.setattr(cpu_threads, "busy_cores_of_others", lambda: 0.05)
    with caplog.at_level(logging.WARNING, logger="runner"):
        cpu_threads.set_threads(0, torch.device("cpu"))
    assert caplog.records == []


def test_threads_given_are_set_and_nothing_is_said(busy_machine, caplog):
    with caplog.at_level(logging.WARNING, logger="runner"):
        cpu_threads.set_threads(1, torch.device("cpu"))
        cpu_threads.set_threads(0, torch.device("cuda"))  # a GPU run: the CPU threads hardly matter
    assert busy_machine == [1]
    assert caplog.records == []
