"""The job runner's guarantees (signals connected before a job runs, big progress numbers) and preferences."""

import logging

from PySide6.QtCore import QSettings

from app.settings import TASKS, Settings
from app.workers import JobRunner
from sapiens_core.errors import SapiensError


def test_a_job_that_fails_at_once_is_still_heard(qtbot):
    runner = JobRunner()
    heard = []

    def connect(job):
        job.failed.connect(heard.append)

    def boom(report):
        raise RuntimeError("bad checkpoint")

    job = runner.start("Load", boom, connect)
    qtbot.waitUntil(lambda: job not in runner.active, timeout=5000)
    assert heard == ["Load: bad checkpoint"]


def test_an_expected_failure_is_one_log_line_and_an_unexpected_one_keeps_its_traceback(qtbot, caplog):
    runner = JobRunner()
    heard = []

    def bad_file(report):
        raise SapiensError("model.pt2: truncated file")

    def bug(report):
        raise ZeroDivisionError("oops")

    with caplog.at_level(logging.WARNING, logger="app.workers"):
        for fn in (bad_file, bug):
            job = runner.start("Load", fn, lambda j: j.failed.connect(heard.append))
            qtbot.waitUntil(lambda job=job: job not in runner.active, timeout=5000)
    assert heard == ["Load: model.pt2: truncated file", "Load: oops"]
    expected, unexpected = caplog.records
    assert expected.levelno == logging.WARNING and "Traceback" not in expected.getMessage()
    assert unexpected.levelno == logging.ERROR and "ZeroDivisionError" in unexpected.getMessage()


def test_progress_carries_byte_counts_beyond_two_gigabytes(qtbot):
    runner = JobRunner()
    seen = []
    size = 9 * 1024**3  # a 2B checkpoint

    def download(report):
        report(size // 2, size, "downloading")
        return "ok"

    job = runner.start("Download", download, lambda j: j.progress.connect(lambda d, t, s: seen.append((d, t, s))))
    qtbot.waitUntil(lambda: job not in runner.active, timeout=5000)
    assert seen == [(size // 2, size, "downloading")]
    assert job.result == "ok"


def test_cancel_stops_a_job_at_its_next_report(qtbot):
    runner = JobRunner()
    cancelled, steps, jobs = [], [], []

    def long_job(report):
        for i in range(10_000):
            steps.append(i)
            report(i, 10_000, "")
            if i == 5:
                jobs[0].cancel()  # as the Cancel button would
        return "finished"

    def connect(j):
        jobs.append(j)
        j.cancelled.connect(lambda: cancelled.append(True))

    job = runner.start("Long", long_job, connect)
    qtbot.waitUntil(lambda: job not in runner.active, timeout=5000)
    assert cancelled == [True] and job.result is None and len(steps) == 7


def test_enabled_tasks_distinguish_none_from_never_chosen(tmp_path):
    q = QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)
    settings = Settings(q)
    assert settings.enabled_tasks() == set(TASKS)
    settings.set_enabled_tasks(set())
    settings.sync()
    assert Settings(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)).enabled_tasks() == set()
    settings.set_enabled_tasks({"pose", "depth"})
    assert settings.enabled_tasks() == {"pose", "depth"}
