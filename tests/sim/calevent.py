"""calevent.py - a small subset of PVE calendar events: parse a schedule, find the next slot.

Supported (all times in the simulator's local time zone, minute resolution):
  "HH:MM"            daily at that time; HH and MM may be lists ("06,18:30")
  "*-*-* HH:MM"      the same with an all-wildcard date part
  "DOW[,DOW] HH:MM"  weekdays: names, lists and ranges ("sat", "mon..fri", "mon,wed")
  "*/N:MM", "H/N:MM" hourly repetition: every N hours starting at hour 0 (or H)
  "*/N", "MM"        a lone value is the minute field: every N minutes / every hour at MM
  "hourly", "daily", "weekly"  the systemd shorthands (weekly = mon 00:00)
A weekday part may be combined with any time part. Anything else raises ValueError.
"""

import time

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SHORTHANDS = {"hourly": "*:00", "daily": "00:00", "weekly": "mon 00:00"}


def _parse_values(field, lo, hi):
    """One time field: "*", "N", "a,b", "N/step", "*/step", "a..b"."""
    values = set()
    for part in field.split(","):
        if not part:
            raise ValueError("empty field in '%s'" % field)
        step = 1
        if "/" in part:
            part, step_s = part.split("/", 1)
            step = int(step_s)
            if step <= 0:
                raise ValueError("bad repetition '%s'" % field)
            start = lo if part == "*" else int(part)
            values.update(range(start, hi + 1, step))
            continue
        if part == "*":
            values.update(range(lo, hi + 1))
        elif ".." in part:
            a, b = part.split("..", 1)
            values.update(range(int(a), int(b) + 1))
        else:
            values.add(int(part))
    if not values or min(values) < lo or max(values) > hi:
        raise ValueError("value out of range in '%s'" % field)
    return sorted(values)


def _parse_days(field):
    days = set()
    for part in field.split(","):
        if ".." in part:
            a, b = part.split("..", 1)
            ia, ib = DAYS.index(a), DAYS.index(b)
            if ia > ib:
                raise ValueError("bad weekday range '%s'" % part)
            days.update(range(ia, ib + 1))
        elif part in DAYS:
            days.add(DAYS.index(part))
        else:
            raise ValueError("bad weekday '%s'" % part)
    return days


class Schedule:
    """A parsed calendar event: weekday set (0 = Monday), hour list, minute list."""

    def __init__(self, text):
        self.text = text
        spec = SHORTHANDS.get(text.strip(), text.strip())
        words = spec.split()
        if not words or len(words) > 2:
            raise ValueError("cannot parse calendar event '%s'" % text)
        self.days = set(range(7))
        if len(words) == 2 and words[0] != "*-*-*":
            self.days = _parse_days(words[0].lower())
        elif len(words) == 2 and words[0] == "*-*-*":
            pass
        elif words[0][0].isalpha():
            self.days = _parse_days(words[0].lower())
            words = [words[0], "00:00"]
        tpart = words[-1]
        if ":" in tpart:
            h, m = tpart.split(":", 1)
            self.hours = _parse_values(h, 0, 23)
            self.minutes = _parse_values(m, 0, 59)
        else:
            self.hours = list(range(24))
            self.minutes = _parse_values(tpart, 0, 59)

    def next_after(self, after):
        """First slot strictly after the epoch `after` (seconds), in local time."""
        base = time.localtime(int(after))
        for day in range(0, 9):
            midnight = time.mktime((base.tm_year, base.tm_mon, base.tm_mday + day,
                                    0, 0, 0, 0, 0, -1))
            wday = time.localtime(midnight).tm_wday
            if wday not in self.days:
                continue
            lt = time.localtime(midnight)
            for h in self.hours:
                for m in self.minutes:
                    t = int(time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, h, m, 0, 0, 0, -1)))
                    if t > after:
                        return t
        raise ValueError("no slot within 8 days for '%s'" % self.text)


def next_event(schedule, after):
    return Schedule(schedule).next_after(after)
