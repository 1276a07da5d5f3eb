"""What the batch commands share (run_checks, run_monitoring, prepare_roll, simulate): the region, date and user
arguments read with Chinese errors, a progress display, and one way of failing.

On a terminal the progress is a rich bar that redraws in place; into a file or a pipe (cron, CI, tests) it is one line
each time the step changes, e.g. `  40% 核对 4 户`.
"""

import datetime
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from .errors import DomainError
from .runs import Progress as ProgressCallback


def parse_date(raw: str, label: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise DomainError(f"{label}“{raw}”格式错误，应为 YYYY-MM-DD，例如 2026-12-01", "invalid_date") from None


def progress_line(percent: int, message: str) -> str:
    return f"{max(0, min(percent, 100)):3d}% {message}"


def domain(call, *args, **kwargs):
    """Call a service; its Chinese refusal becomes the command's error message (exit code 1)."""
    try:
        return call(*args, **kwargs)
    except DomainError as exc:
        raise CommandError(exc.message) from None


def starter(username: str | None):
    """The user a command acts as (`--user`), or None for the system; a Chinese error for an unknown name."""
    if not username:
        return None
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.select_related("region").filter(username=username).first()
    if user is None:
        raise DomainError(f"用户 {username} 不存在", "unknown_user")
    return user


class RunCommand(BaseCommand):
    """A command that starts a batch run and follows it with a progress display."""

    @contextmanager
    def progress(self) -> Iterator[ProgressCallback]:
        """A progress callback for a run: a live bar on a terminal, a line per step otherwise."""
        stream = getattr(self.stderr, "_out", sys.stderr)
        if stream.isatty():
            bar = Progress(
                TextColumn("[bold]{task.fields[step]}"),
                BarColumn(bar_width=30),
                TaskProgressColumn(),
                console=Console(file=stream),
                transient=False,
            )
            task = bar.add_task("", total=100, step="")
            with bar:
                yield lambda percent, message: bar.update(task, completed=percent, step=message)
            return
        last: list[tuple[int, str]] = []

        def line(percent: int, message: str) -> None:
            if not last or last[-1] != (percent, message):
                last.append((percent, message))
                self.stderr.write(progress_line(percent, message))

        yield line

    def run_with_progress(self, execute, run, failure: str, nothing_kept: str = "未保存任何结果，可重新运行"):
        """Execute a run with the progress display; a crash is reported in Chinese, saying nothing was kept."""
        with self.progress() as callback:
            try:
                return execute(run.pk, progress=callback)
            except Exception as exc:
                raise CommandError(f"{failure}（第 {run.pk} 次），{nothing_kept}：{exc}") from exc


class ScheduleCommand(BaseCommand):
    """`--region R [timing]` creates or updates a region's schedule, `--list` lists them, `--region R --delete` removes
    it. Subclasses name the job (`what`), add their timing arguments and implement `ensure` and `timing`."""

    what = "定时任务"

    def add_arguments(self, parser):
        parser.add_argument("--region", help="区划代码（2、4、6、9或12位），例如 1307")
        parser.add_argument("--list", dest="list_only", action="store_true", help=f"列出全部{self.what}")
        parser.add_argument("--delete", action="store_true", help=f"删除该区划的{self.what}")

    def ensure(self, region: str, **options):  # -> the schedule
        raise NotImplementedError

    def timing(self, schedule) -> str:
        """How often, for the list and the confirmation (每天 02:00, 每月 1 日 2 时)."""
        raise NotImplementedError

    def handle(self, *args, region, list_only: bool, delete: bool, **options):
        from django.utils import timezone

        if list_only:
            listed = self.jobs.list_schedules()
            if not listed:
                self.stdout.write(f"尚无{self.what}")
            for s in listed:
                next_run = f"{timezone.localtime(s.next_run):%Y-%m-%d %H:%M}" if s.next_run else "—"
                self.stdout.write(f"{s.pk}\t{s.name}\t{self.timing(s)}\t下次 {next_run}")
            return
        if not region:
            raise CommandError("请用 --region 指定区划代码（或用 --list 列出全部定时任务）")
        if delete:
            if not domain(self.jobs.delete_schedule, region):
                raise CommandError(f"区划 {region} 没有{self.what}")
            self.stdout.write(self.style.SUCCESS(f"已删除区划 {region} 的{self.what}"))
            return
        before = {s.pk for s in self.jobs.list_schedules()}
        schedule = domain(self.ensure, region, **options)
        self.stdout.write(
            self.style.SUCCESS(
                f"已{'更新' if schedule.pk in before else '设定'}“{schedule.name}”：{self.timing(schedule)}执行，"
                f"下次 {timezone.localtime(schedule.next_run):%Y-%m-%d %H:%M}（需运行 minzheng qcluster）"
            )
        )
