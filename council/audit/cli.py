"""`flask council audit-verify`: check the audit log's hash chain against its head."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from council.audit import rules, services

PROGRESS_FROM = 5000  # entries: a progress bar on stderr for logs at least this long


def describe(problem: rules.Break) -> str:
    """The break in words, naming the entries concerned."""
    first, last = problem.first, problem.last
    span = f"entry {first}" if first == last else f"entries {first}-{last}"
    match problem.kind:
        case rules.Problem.EDITED:
            return f"entry {first}: hash does not match (edited?)"
        case rules.Problem.RELINKED:
            return (f"entry {first}: does not follow entry {first - 1} (entry {first - 1} edited and its hash "
                    f"rewritten?)" if first > 1 else f"entry {first}: does not start the chain (edited?)")
        case rules.Problem.MISSING:
            return f"{span} missing"
        case rules.Problem.OUT_OF_ORDER:
            return f"entry {first}: out of order or repeated (renumbered?)"
        case rules.Problem.TRUNCATED:
            return f"log shorter than its head: the newest entries were deleted ({span} missing)"
        case rules.Problem.EXTRA:
            return f"{span}: not counted in the head (added directly to the database?)"
        case rules.Problem.HEAD_MISMATCH:
            return (f"entry {first}: hash does not match the head (the newest entry edited?)" if first
                    else "the head does not match the empty log (edited?)")
        case rules.Problem.NO_HEAD:
            return f"the head row is missing but the log holds {span} (head deleted?)"
    return f"{span}: {problem.kind.value}"  # pragma: no cover (every kind is described above)


def _check() -> tuple[rules.Break | None, rules.Head | None]:
    """Check the entries the head counts (read first: appends from other processes may continue meanwhile,
    each committing its entries and the head together), then look for entries beyond them."""
    head = services.read_head()
    if head is None:
        newest = services.newest_id()
        return (rules.Break(rules.Problem.NO_HEAD, 1, newest) if newest else None), None
    entries = services.stored_entries(up_to=head.count)
    if head.count >= PROGRESS_FROM:
        with click.progressbar(entries, length=head.count, label="Checking the audit log", file=sys.stderr) as bar:
            problem = rules.verify(bar, head)
    else:
        problem = rules.verify(entries, head)
    if problem is None:
        # An entry seen here was committed with its head, so a later read of the head counts it.
        newest = services.newest_id() or 0
        now = services.read_head()
        counted = now.count if now else 0
        if newest > counted:
            problem = rules.Break(rules.Problem.EXTRA, counted + 1, newest)
    return problem, head


@click.command("audit-verify")
@with_appcontext
def audit_verify() -> None:
    """Check the audit log: every entry's hash, the chain, and the head (exit 1 at the first break)."""
    problem, head = _check()
    if problem is not None:
        click.echo(f"Audit log broken: {describe(problem)}.", err=True)
        sys.exit(1)
    if head is None:
        click.echo("The audit log is empty.")
        return
    click.echo(f"{head.count:,} entries, chain intact.")
    click.echo(f"Head hash: {head.last_hash} (keep a copy elsewhere: a later check can compare it).")
