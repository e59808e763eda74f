"""Recount a published ballot list (the CSV of `counting.ballots_csv`) with the pure rules, without the
database: `flask council recount FILE.csv` prints the same figures as the posted result."""
from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field

from council.ballots.rules import ElectionForm, ElectionResult
from council.elections import rules
from council.elections.rules import RoundKind


@dataclass
class BallotList:
    title: str = ""
    kind: RoundKind = RoundKind.FIRST
    seats: int = 0
    roll: int = 0
    second_round_factor: int = 2
    candidates: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    ballots: list[rules.Marks] = field(default_factory=list)
    trackers: set[str] = field(default_factory=set)


def read(lines: Iterable[str]) -> BallotList:
    """Parse the published CSV; ValueError (with the line number) on anything malformed or repeated."""
    found = BallotList()
    header = False
    for number, row in enumerate(csv.reader(line.lstrip("\ufeff") for line in lines), start=1):
        if not row:
            continue
        try:
            key = row[0]
            if key == "# election":
                found.title = row[1]
            elif key == "# round":
                found.kind = RoundKind(row[2])
            elif key == "# seats":
                found.seats = int(row[1])
            elif key == "# roll":
                found.roll = int(row[1])
            elif key == "# second_round_factor":
                found.second_round_factor = int(row[1])
            elif key in ("# candidate", "# written_in"):
                person = int(row[1])
                found.names[person] = row[2]
                if key == "# candidate":
                    found.candidates.append(person)
            elif row == ["position", "tracker", "marks"]:
                header = True
            elif not key.startswith("#"):
                if not header:
                    raise ValueError("ballot before the header line")
                tracker = row[1]
                if tracker and tracker in found.trackers:
                    raise ValueError(f"tracker {tracker} appears twice")
                found.trackers.add(tracker)
                found.ballots.append(rules.decode(row[2]))
        except (IndexError, ValueError) as error:
            raise ValueError(f"line {number}: {error}") from error
    if found.seats < 1 or not header:
        raise ValueError("not a published ballot list (no seats or no header line)")
    return found


def recount(ballot_list: BallotList) -> ElectionResult:
    form = ElectionForm(tuple(ballot_list.candidates), ballot_list.second_round_factor)
    return rules.count_round(ballot_list.kind, ballot_list.roll, [b.ballot() for b in ballot_list.ballots],
                             ballot_list.seats, form)
