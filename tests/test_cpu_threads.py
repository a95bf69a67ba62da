"""A run with torch's default threads on a busy machine says how to avoid waiting for cores."""

import logging

import pytest
import torch

import runner.cpu_threads as cpu_threads
from runner.cpu_threads import busy_cores_advice


def test_advice_only_when_torch_threads_outnumber_the_idle_cores():
    assert busy_cores_advice(torch_threads=2, cores=2, load=0.3) == ""
    assert busy_cores_advice(torch_threads=1, cores=2, load=1.9) == ""
    assert busy_cores_advice(torch_threads=8, cores=8, load=2.5) == (
        "the machine is busy (load average 2.5 on 8 cores): torch's 8 threads would wait on each other for cores "
        "other work holds, which can make epochs several times slower; trainer.threads=6 fits the idle cores")
    assert "trainer.threads=1 fits" in busy_cores_advice(torch_threads=2, cores=2, load=3.0)  # never advises 0


@pytest.fixture
def busy_machine(monkeypatch):
    """2 cores, one and a half of them taken; returns the list of thread counts the run sets."""
    calls = []
    monkeypatch.setattr(cpu_threads, "_warned", False)
    monkeypatch.setattr(cpu_threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(cpu_threads.os, "getloadavg", lambda: (1.5, 1.0, 0.5))
    monkeypatch.setattr(cpu_threads.torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(cpu_threads.torch, "set_num_threads", calls.append)
    return calls


def test_default_threads_on_a_busy_machine_warn_once_a_process(busy_machine, caplog):
    with caplog.at_level(logging.WARNING, logger="runner"):
        cpu_threads.set_threads(0, torch.device("cpu"))
        cpu_threads.set_threads(0, torch.device("cpu"))  # a sweep's next run in the same process
    assert [r.getMessage() for r in caplog.records] == [busy_cores_advice(2, 2, 1.5)]
    assert busy_machine == []  # torch's default kept


def test_threads_given_are_set_and_nothing_is_said(busy_machine, caplog):
    with caplog.at_level(logging.WARNING, logger="runner"):
        cpu_threads.set_threads(1, torch.device("cpu"))
        cpu_threads.set_threads(0, torch.device("cuda"))  # a GPU run: the CPU threads hardly matter
    assert busy_machine == [1]
    assert caplog.records == []
