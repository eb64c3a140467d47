"""Who is coming, before the session: a read-only list for the session's trainers (and staff),
open any time before the start. The sheet itself takes marks from 30 minutes before the start
(`marking.check_in_window`); this page changes nothing and has no forms.

The data model asks no accessibility or dietary needs at enrollment or on an inhouse participant
list, so the page shows none and says so, rather than guessing them from free-text fields.
"""

from flask import abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from ...courses.models import TrainingSession
from ...db_types import utcnow
from ...permissions import get_or_404
from .. import bp
from . import access, marking
from .models import AttendanceStatus
from .sheet import build_sheet


@bp.route("/attendance/sessions/<int:session_id>/preview")
@login_required
def attendance_preview(session_id: int):
    session = get_or_404(TrainingSession, session_id)
    if not access.can_manage_sheet(current_user, session):
        abort(404)
    now = utcnow()
    if now >= session.starts_at:
        # The session is under way or over: the sheet is where its attendance is.
        return redirect(url_for("bookings.attendance_sheet", session_id=session.id))
    sheet = build_sheet(session)
    coming = [row for row in sheet.rows if row.status != AttendanceStatus.EXCUSED]
    excused = [row for row in sheet.rows if row.status == AttendanceStatus.EXCUSED]
    opens = marking.check_in_window(session)[0]
    return render_template(
        "bookings/attendance/preview.html",
        session=session,
        coming=coming,
        excused=excused,
        opens=opens,
        sheet_open=now >= opens,
    )
