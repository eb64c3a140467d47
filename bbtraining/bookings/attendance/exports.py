"""Attendance out of the platform: CSV and XLSX per session and per edition, and a printable
sign-in sheet (PDF) for sessions where a phone is no option.

CSV is written the way Dutch Excel opens it by double-click: UTF-8 with a byte-order mark and
semicolons; bbtraining/exports.py writes both formats and defuses cells a spreadsheet would run
as a formula (names and notes are typed by people).
"""

from flask_babel import format_date, format_datetime, format_time
from flask_babel import gettext as _
from sqlalchemy import select

from ...courses.models import Edition, TrainingSession
from ...extensions import db
from ...pdf.sign_in_sheet import SignInSheetDoc, render_sign_in_sheet
from ..sessions.groups import session_group
from .access import session_trainers
from .completion import participant_identity
from .models import ATTENDANCE_STATUS_LABELS, AttendanceRecord, Completion
from .sheet import build_sheet, sheet_participants

Table = tuple[list[str], list[list[str]]]


def _status_label(status: str | None) -> str:
    if status is None:
        return _("Niet genoteerd")
    return str(ATTENDANCE_STATUS_LABELS.get(status, status))


def session_table(session: TrainingSession) -> Table:
    headers = [
        _("Naam"),
        _("E-mailadres"),
        _("Organisatie of functie"),
        _("Status"),
        _("Aankomst"),
        _("Genoteerd door"),
        _("Bevestigd"),
        _("Notitie"),
    ]
    rows = []
    for row in build_sheet(session).rows:
        record = row.record
        rows.append(
            [
                row.participant.name,
                row.participant.email,
                row.detail,
                _status_label(row.status),
                format_time(record.arrived_at, "short") if record and record.arrived_at else "",
                record.source_label if record else "",
                (_("nee") if record.awaiting_confirmation else _("ja")) if record else "",
                (record.note or "") if record else "",
            ]
        )
    return headers, rows


def edition_table(edition: Edition) -> Table:
    """One row per participant, one column per session, then the completion."""
    sessions = edition.sessions
    group = session_group(sessions[0]) if sessions else None
    people: dict[str, tuple[str, str]] = {}
    for session in sessions:
        if session.is_cancelled:
            continue
        for person in sheet_participants(session):
            people.setdefault(
                participant_identity(person.key, person.email), (person.name, person.email)
            )
    statuses: dict[tuple[str, int], str] = {}
    records = db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.session_id.in_([s.id for s in sessions]))
    )
    for record in records:
        identity = participant_identity(record.participant_key, record.email)
        people.setdefault(identity, (record.name, record.email))
        statuses[(identity, record.session_id)] = record.status
    completions = {}
    if group is not None:
        completions = {
            c.participant_key: c
            for c in db.session.scalars(select(Completion).where(Completion.group_key == group.key))
        }
    headers = [_("Naam"), _("E-mailadres")]
    for session in sessions:
        label = format_datetime(session.starts_at, "dd-MM-yyyy HH:mm")
        if session.is_cancelled:
            label += " " + _("(geannuleerd)")
        headers.append(label)
    headers += [_("Aanwezig"), _("Afronding"), _("Toelichting")]
    active_count = sum(not s.is_cancelled for s in sessions)
    rows = []
    for identity, (name, email) in sorted(people.items(), key=lambda i: i[1][0].casefold()):
        row = [name, email]
        present = 0
        for session in sessions:
            if session.is_cancelled:
                row.append("")
                continue
            status = statuses.get((identity, session.id))
            present += status == "present"
            row.append(_status_label(status))
        row.append(f"{present}/{active_count}")
        completion = completions.get(identity)
        if completion is None:
            row += [_("Nog niet bepaald"), ""]
        else:
            row += [completion.status_label, completion.reason]
        rows.append(row)
    return headers, rows


def sign_in_sheet_pdf(session: TrainingSession) -> bytes:
    sheet = build_sheet(session)
    return render_sign_in_sheet(
        SignInSheetDoc(
            title=session.course.title,
            start=session.starts_at,
            end=session.ends_at,
            location=session.place(),
            trainers=tuple(t.name for t in session_trainers(session)),
            participants=tuple((row.participant.name, row.detail) for row in sheet.rows),
        )
    )


def filename(session_or_edition: TrainingSession | Edition, extension: str) -> str:
    kind = "editie-" if isinstance(session_or_edition, Edition) else ""
    start = session_or_edition.starts_at
    day = format_date(start, "yyyy-MM-dd") if start else "onbekend"
    return f"aanwezigheid-{kind}{session_or_edition.course.slug}-{day}.{extension}"
