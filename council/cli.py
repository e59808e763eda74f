"""`flask council ...`: demo data, household import, site administrators."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from council import scale, versions
from council.accounts.models import User
from council.accounts.passwords import password_problem
from council.accounts.services import PASSWORD_MIN, USERNAME_RE, normalise_username
from council.audit.cli import audit_verify
from council.backup import backup_command, restore_command
from council.ballots.services import close_due
from council.concerns.services import remind_overdue
from council.demo import DEMO_PASSWORD, seed
from council.extensions import db
from council.i18n import local_today
from council.meetings.console import remind_overdue_actions
from council.owners.services import check_register_rows, import_register_rows
from council.territory.models import Place, PlaceKind
from council.territory.services import check_household_rows, import_household_rows

council_cli = AppGroup("council", help="Council administration commands.")
council_cli.add_command(audit_verify)
council_cli.add_command(backup_command)
council_cli.add_command(restore_command)


@council_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no places yet.")
def seed_demo(if_empty: bool) -> None:
    """Build the demo street from the field notes (idempotent) and print the demo sign-ins."""
    if if_empty and db.session.scalar(sa.select(sa.func.count(Place.id))):
        click.echo("The database already has places; demo data not added.")
        return
    summary = seed()
    db.session.commit()
    click.echo(summary.describe())
    click.echo("")
    click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for username, who in summary.logins:
        click.echo(f"  {username:<12} {who}")


@council_cli.command("seed-scale")
@click.option("--estates", default=600, show_default=True, type=click.IntRange(1, 5000),
              help="Estates in the district (about 500 households each).")
@click.option("--seed", default=1, show_default=True, type=int, help="The same seed gives the same data.")
@click.option("--benchmark-households", "households", type=click.IntRange(50, 20000), default=None,
              help="Households of the benchmark estate 基准小区 [default: min(5000, 250 x estates)].")
@click.option("--fingerprint", is_flag=True, help="Also print a digest of the generated data (reads every row).")
def seed_scale_command(estates: int, seed: int, households: int | None, fingerprint: bool) -> None:
    """Build a district-scale data set, deterministically from a seed, in a fresh database (`flask db upgrade`
    first). Refused on a database that has places or people: ids, usernames and the fingerprint assume an empty
    one. Every generated account's password is printed at the end."""
    if scale.has_data():
        raise click.ClickException("The database already has places or people. seed-scale fills a fresh "
                                   "database: create an empty one and run `flask db upgrade` first.")
    with click.progressbar(length=scale.steps(estates), label=f"Seeding {estates} estates",
                           file=sys.stderr) as bar:
        summary = scale.seed_scale(estates, seed, households, progress=bar.update, with_fingerprint=fingerprint)
    db.session.commit()
    # Fresh statistics for the planner: after a bulk load it still believes the tables are small and picks plans
    # that are seconds slow (a 200-comment thread: 0.5 s a page before, 0.2 s after, in process).
    click.echo("Updating the planner's statistics (ANALYZE)...", err=True)
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    versions.move_everything()  # written past the session: no kept page may outlive the old data
    click.echo(summary.describe())


def _find_estate(ref: str) -> Place:
    query = sa.select(Place).where(Place.kind == PlaceKind.ESTATE)
    # isdecimal, not isdigit: int("²") fails. Ids are INTEGER: a larger number is no estate, not a crash.
    if ref.isdecimal():
        query = query.where(Place.id == int(ref)) if int(ref) < 2**31 else query.where(sa.false())
    else:
        query = query.where(Place.name == ref)
    found = db.session.scalars(query).all()
    if len(found) != 1:
        raise click.ClickException(
            f"No estate {ref!r}." if not found else f"Several estates are called {ref!r}; give its id.")
    return found[0]


def _read_checked(csv_file: Path, estate: Place, check):
    """Read a UTF-8 CSV and check every row with `check(estate, text)`; list each bad row and stop if any."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException("The file is not UTF-8 text. Save it as CSV UTF-8 and try again.") from None
    report = check(estate, text)
    if not report.ok:
        for line, message in report.errors:
            click.echo(f"line {line}: {message}", err=True)
        raise click.ClickException(f"{len(report.errors)} bad row(s); nothing was imported.")
    return report


def _with_progress(length: int, label: str, run) -> None:
    """Run `run(progress)` where `progress` wraps an iterable and advances a bar on stderr per item."""
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        def progress(items):
            for item in items:
                yield item
                bar.update(1)
        run(progress)


@council_cli.command("import-households")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--estate", "estate_ref", required=True, help="The estate's id or exact name.")
def import_households(csv_file: Path, estate_ref: str) -> None:
    """Load an estate's households from CSV (building,unit,room,area[,tenure]); all rows or none."""
    estate = _find_estate(estate_ref)
    report = _read_checked(csv_file, estate, check_household_rows)
    _with_progress(len(report.rows), f"Importing into {estate.name}",
                   lambda progress: import_household_rows(estate, report, None, progress=progress))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise click.ClickException("Households were added to this estate while importing; nothing was "
                                   "imported. Run the command again to see which rows now clash.") from None
    click.echo(f"Imported {report.households_created} households into {estate.name} "
               f"({report.buildings_created} new buildings).")


@council_cli.command("import-owners")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--estate", "estate_ref", required=True, help="The estate's id or exact name.")
def import_owners(csv_file: Path, estate_ref: str) -> None:
    """Load an estate's owner register from CSV (one row per owner: building,unit,room,certificate_no,
    owner_name[,owner_mobile,owner_login,caster,kind,area]); every row or none."""
    estate = _find_estate(estate_ref)
    report = _read_checked(csv_file, estate, check_register_rows)
    _with_progress(len(report.units), f"Owner register of {estate.name}",
                   lambda progress: import_register_rows(report, None, progress=progress))
    db.session.commit()
    click.echo(f"Recorded {report.owners_recorded} owner(s) of {len(report.units)} unit(s) in {estate.name}.")


@council_cli.command("remind-overdue")
def remind_overdue_command() -> None:
    """Daily: tell owners of concerns and of meetings' action items past their deadline. Run from cron."""
    count = remind_overdue(local_today())
    actions = remind_overdue_actions(local_today())
    db.session.commit()
    click.echo(f"Reminded the owners of {count} overdue concern(s) and {actions} overdue action item(s).")


@council_cli.command("close-votes")
def close_votes_command() -> None:
    """Every few minutes: close and count the votes whose window has ended. Run from cron.

    Pages also close a vote when someone opens it after its window; this makes sure results and the
    proposals' states move on even when nobody looks."""
    count = close_due()
    click.echo(f"Closed and counted {count} vote(s).")


@council_cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="The name shown to others.")
@click.password_option()
def create_admin(username: str, display_name: str, password: str) -> None:
    """Create a site administrator (who can add streets and grant every role)."""
    username = normalise_username(username)
    if not USERNAME_RE.match(username):
        raise click.ClickException("Username: 3 to 32 letters, digits or _, starting with a letter.")
    problem = password_problem(password, (username,))
    if problem is not None:
        raise click.ClickException(f"This password is refused ({problem.value}): at least {PASSWORD_MIN} "
                                   "characters, not a common password, not the username.")
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise click.ClickException("This username is taken.")
    user = User(username=username, display_name=display_name, is_site_admin=True)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Site administrator {username} created.")


@council_cli.command("recount")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def recount_command(path: Path) -> None:
    """Recount an election round from its published ballot list (CSV), without the database."""
    from council.elections.recount import read, recount

    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            ballots = read(stream)
    except (ValueError, UnicodeDecodeError) as error:
        click.echo(f"Not a published ballot list: {error}", err=True)
        sys.exit(1)
    result = recount(ballots)
    share = f"{result.returned / result.roll_size:.1%}" if result.roll_size else "-"
    click.echo(f"{ballots.title} · round {ballots.kind.value} · {result.seats} seats")
    click.echo(f"Roll 选民: {result.roll_size}   Returned 收回: {result.returned} ({share})   "
               f"Valid 有效: {result.valid}   Void 无效: {result.void}   Status: {result.status.value}")
    click.echo("Votes 得票  Name 姓名")
    for line in result.votes:
        mark = " elected 当选" if line.candidate in result.elected else (
            " tied 票数相等" if line.candidate in result.runoff else "")
        click.echo(f"{line.votes:>8}  {ballots.names.get(line.candidate, line.candidate)}{mark}")
    click.echo(f"Elected 当选: {len(result.elected)} of {result.seats}")
