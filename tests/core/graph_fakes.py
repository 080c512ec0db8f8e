"""What Graph does to a request body, independently of the mapping under test.

``as_graph_response`` turns an ``event_to_graph`` body into the shape Graph
returns for it: start/end converted to the zone a ``Prefer: outlook.timezone``
asked for (UTC by default) with 7 fractional digits, the original zone echoed
in ``originalStartTimeZone``, and the recurrence zero-filled. The zone tables
are read straight from tzlocal so a mapping bug cannot cancel itself out.
"""

from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

from tzlocal.windows_tz import win_tz


def zone_of(name: str) -> ZoneInfo:
    return ZoneInfo(win_tz.get(name, name))


def convert(value: dict, target: str) -> dict:
    local = datetime.fromisoformat(value["dateTime"][:26]).replace(tzinfo=zone_of(value["timeZone"]))
    moment = local.astimezone(zone_of(target))
    return {"dateTime": f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0", "timeZone": target}


def as_graph_response(request: dict, prefer_time_zone: str = "UTC", **extra) -> dict:
    response = copy.deepcopy(request)
    response.setdefault("id", "AAMkAGI2=")
    response.setdefault("changeKey", "ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==")
    response.setdefault("iCalUId", "040000008200E00074C5B7101A82E008")
    response["originalStartTimeZone"] = request["start"]["timeZone"]
    response["originalEndTimeZone"] = request["end"]["timeZone"]
    response["start"] = convert(request["start"], prefer_time_zone)
    response["end"] = convert(request["end"], prefer_time_zone)
    recurrence = response.get("recurrence")
    if recurrence:
        pattern = {"type": None, "interval": 1, "month": 0, "dayOfMonth": 0, "daysOfWeek": [],
                   "firstDayOfWeek": "sunday", "index": "first"}
        pattern.update(recurrence["pattern"])
        range_ = {"type": None, "startDate": None, "endDate": "0001-01-01",
                  "recurrenceTimeZone": request["start"]["timeZone"], "numberOfOccurrences": 0}
        range_.update(recurrence["range"])
        response["recurrence"] = {"pattern": pattern, "range": range_}
    response.update(extra)
    return response
