"""Pipeline schedules: five-field cron expressions, read with croniter.

lakegate never schedules by itself (orchestrators do), but it reads the schedule to
judge freshness (how long a table may wait for its next load) and to generate
orchestrator code. Times are taken as UTC, so daylight-saving shifts are ignored.
"""

from __future__ import annotations

import datetime as dt

from croniter import croniter

# The @-macros orchestrators accept; @reboot is not a schedule.
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_START = dt.datetime(2023, 12, 31, 23, 59)  # the first firing can be 2024-01-01 00:00;
# the four years from there hold one leap day
_HORIZON = dt.datetime(2028, 1, 1)
_MAX_FIRINGS = 5000  # enough to cover a week of a 5-minute schedule, in ~0.25 s


def cron_expression(schedule: str) -> str:
    """``schedule`` as five cron fields (macros expanded).

    Raises:
        ValueError: Not a five-field cron expression or a known macro (six-field
            expressions with seconds, ``@reboot`` and invalid fields are refused).
    """
    text = MACROS.get(schedule.strip().lower(), schedule.strip())
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise ValueError(
            f"{schedule!r} is not a cron schedule: use five fields (minute hour "
            "day-of-month month day-of-week, e.g. '0 5 * * *') or @hourly, @daily, "
            "@weekly, @monthly, @yearly"
        )
    return text


def max_gap_seconds(schedule: str) -> float | None:
    """The longest time between two firings of ``schedule``, in seconds.

    Looks at the firings from 2024 to 2027 (at most the first 5,000); when both day
    fields are restricted a day matches either (Vixie cron, as croniter reads it).

    Returns:
        The gap, or None when the schedule is not a cron expression or fires less
        than twice in those four years (``0 0 29 2 *``).
    """
    try:
        text = cron_expression(schedule)
    except ValueError:
        return None
    firings = croniter(text, _START)
    previous = firings.get_next(dt.datetime)
    gap, count = 0.0, 0
    while count < _MAX_FIRINGS:
        current = firings.get_next(dt.datetime)
        if current > _HORIZON:
            break
        gap = max(gap, (current - previous).total_seconds())
        previous, count = current, count + 1
    return gap if count else None
