"""Staff pages for the catalog under /admin/courses/: courses, editions, sessions, trainers."""

from datetime import date, datetime, time, timedelta

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth.models import User
from ..db_types import utcnow
from ..extensions import db
from ..permissions import admin_required, get_or_404
from ..web import commit_or_flash
from . import catalog, courses, editions, staff_bp, trainers
from .forms import (
    MAX_SESSIONS,
    CancelForm,
    CapacityForm,
    ConfirmForm,
    CourseForm,
    DuplicateForm,
    EditionDetailsForm,
    EditionForm,
    MoveSessionForm,
    TrainerBioForm,
    TrainersForm,
)
from .models import AMSTERDAM, Course, Edition, EditionStatus, TrainingSession


def _trainer_choices(form_field) -> None:
    form_field.choices = [(t.id, t.name) for t in trainers.trainers()]


def _chosen_trainers(ids: list[int] | None) -> list[User]:
    by_id = {t.id: t for t in trainers.trainers()}
    # A trainer ticked twice (a replayed or hand-made form) is still one trainer.
    return [by_id[i] for i in dict.fromkeys(ids or []) if i in by_id]


def _local(moment: datetime | None) -> datetime | None:
    """A naive datetime typed by staff, read as Europe/Amsterdam."""
    return moment.replace(tzinfo=AMSTERDAM) if moment is not None else None


def _naive_local(moment: datetime | None) -> datetime | None:
    """The other way round: a stored moment as staff type it (Europe/Amsterdam, no zone)."""
    return moment.astimezone(AMSTERDAM).replace(tzinfo=None) if moment is not None else None


# -- courses -------------------------------------------------------------------------------------
@staff_bp.route("/", endpoint="courses")
@admin_required
def course_list():
    listed = list(
        db.session.scalars(select(Course).order_by(Course.published.desc(), Course.title))
    )
    return render_template(
        "courses/admin/courses.html",
        courses=listed,
        next_starts=catalog.next_starts(listed),
    )


def _course_input(form: CourseForm) -> courses.CourseInput:
    return courses.CourseInput(
        title=form.title.data,
        slug=form.slug.data or None,
        kind=form.kind.data,
        audience=form.audience.data,
        delivery=form.delivery.data,
        phases=form.phases.data,
        summary=form.summary.data or "",
        description=form.description.data or "",
        learning_goals=form.learning_goals.data or "",
        duration_minutes=form.duration_minutes.data,
        session_count=form.session_count.data,
        price_inhouse=form.price_inhouse.data,
        price_seat=form.price_seat.data,
        vat_rate=form.vat_rate.data,
        max_group_size=form.max_group_size.data,
        qualifies_for_alumni=form.qualifies_for_alumni.data,
        completion_min_percent=form.completion_min_percent.data,
    )


@staff_bp.route("/new", methods=["GET", "POST"])
@admin_required
def create_course():
    form = CourseForm()
    refused = False
    if form.validate_on_submit():
        created = commit_or_flash(
            lambda: courses.create_course(_course_input(form)),
            _("De training is aangemaakt. Publiceer haar als alles klopt."),
            form=form,
        )
        if created:
            return redirect(url_for("courses_admin.edit_course", course_id=created.value.id))
        refused = True
    return render_template("courses/admin/course_form.html", form=form, course=None), (
        400 if form.errors or refused else 200
    )


@staff_bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_course(course_id: int):
    course = get_or_404(Course, course_id)
    form = CourseForm(obj=course)
    if request.method == "GET":
        form.phases.data = course.phases
    refused = False
    if form.validate_on_submit():
        if commit_or_flash(
            lambda: courses.update_course(course, _course_input(form)),
            _("De wijzigingen zijn opgeslagen."),
            form=form,
        ):
            return redirect(url_for("courses_admin.edit_course", course_id=course.id))
        refused = True
        course = get_or_404(Course, course_id)
    return render_template(
        "courses/admin/course_form.html",
        form=form,
        course=course,
        editions=list(
            db.session.scalars(
                select(Edition).where(Edition.course_id == course.id).order_by(Edition.id.desc())
            )
        ),
    ), (400 if form.errors or refused else 200)


def _publication(course_id: int, action, done: str):
    course = get_or_404(Course, course_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    commit_or_flash(lambda: action(course), done)
    if request.form.get("back") == "list":
        return redirect(url_for("courses_admin.courses"))
    return redirect(url_for("courses_admin.edit_course", course_id=course_id))


@staff_bp.route("/<int:course_id>/publish", methods=["POST"])
@admin_required
def publish_course(course_id: int):
    return _publication(
        course_id,
        courses.publish_course,
        _("De training staat nu in de catalogus."),
    )


@staff_bp.route("/<int:course_id>/unpublish", methods=["POST"])
@admin_required
def unpublish_course(course_id: int):
    return _publication(
        course_id,
        courses.unpublish_course,
        _("De training staat niet meer in de catalogus. Links ernaar geven nu ‘niet gevonden’."),
    )


# -- editions ------------------------------------------------------------------------------------
@staff_bp.route("/editions/", endpoint="editions")
@admin_required
def edition_list():
    now = utcnow()
    upcoming = list(db.session.scalars(catalog.upcoming_editions_query(now)))
    upcoming_ids = {e.id for e in upcoming}
    others = [
        e
        for e in db.session.scalars(select(Edition).order_by(Edition.id.desc()).limit(50))
        if e.id not in upcoming_ids
    ]
    return render_template("courses/admin/editions.html", upcoming=upcoming, others=others)


def _default_times(course: Course) -> tuple[time, time]:
    start = datetime.combine(date.today(), time(9, 30))
    end = min(start + timedelta(minutes=course.duration_minutes), start.replace(hour=23, minute=0))
    return start.time(), end.time()


def _session_rows(count: int) -> int:
    return max(1, min(count, MAX_SESSIONS))


@staff_bp.route("/<int:course_id>/editions/new", methods=["GET", "POST"])
@admin_required
def schedule_edition(course_id: int):
    course = get_or_404(Course, course_id)
    form = EditionForm()
    _trainer_choices(form.trainers)
    refused = False
    if request.method == "GET":
        form.capacity.data = course.max_group_size
        rows = _session_rows(request.args.get("sessions", course.session_count, type=int))
        while len(form.sessions) < rows:
            form.sessions.append_entry()
        start, end = _default_times(course)
        for row in form.sessions:
            row.start.data, row.end.data = start, end
    if form.validate_on_submit():
        slots = [
            trainers.Slot.local(row.day.data, row.start.data, row.end.data)
            for row in form.sessions
            if row.day.data
        ]
        data = editions.EditionInput(
            capacity=form.capacity.data,
            slots=slots,
            trainers=_chosen_trainers(form.trainers.data),
            location=form.location.data,
            online_url=form.online_url.data,
            enrollment_deadline=_local(form.enrollment_deadline.data),
            price_seat=form.price_seat.data,
            free_cancellation_days=form.free_cancellation_days.data,
            late_refund_percent=form.late_refund_percent.data,
            cancellation_policy=form.cancellation_policy.data or "",
        )
        scheduled = commit_or_flash(
            lambda: editions.schedule_edition(course, data), _("De editie is gepland."), form=form
        )
        if scheduled:
            return redirect(url_for("courses_admin.edition", edition_id=scheduled.value.id))
        refused = True
        course = get_or_404(Course, course_id)
    return render_template(
        "courses/admin/edition_form.html",
        form=form,
        course=course,
        more_rows=_session_rows(len(form.sessions) + 1),
    ), (400 if form.errors or refused else 200)


def _edition_page(edition: Edition, status: int = 200, **forms):
    trainers_form = forms.get("trainers_form") or TrainersForm(
        trainers=[t.id for t in edition.trainers]
    )
    _trainer_choices(trainers_form.trainers)
    return render_template(
        "courses/admin/edition.html",
        edition=edition,
        trainers_form=trainers_form,
        capacity_form=forms.get("capacity_form") or CapacityForm(capacity=edition.capacity),
        details_form=forms.get("details_form")
        or EditionDetailsForm(
            location=edition.location,
            online_url=edition.online_url,
            enrollment_deadline=_naive_local(edition.enrollment_deadline),
            price_seat=edition.price_seat,
        ),
        duplicate_form=forms.get("duplicate_form") or DuplicateForm(),
        cancel_form=forms.get("cancel_form") or CancelForm(),
        is_scheduled=edition.status == EditionStatus.SCHEDULED,
    ), status


@staff_bp.route("/editions/<int:edition_id>")
@admin_required
def edition(edition_id: int):
    return _edition_page(get_or_404(Edition, edition_id))


def _edition_action(edition_id: int, form, form_name: str, action, done: str):
    edition = get_or_404(Edition, edition_id)
    if not form.validate_on_submit():
        return _edition_page(edition, 400, **{form_name: form})
    outcome = commit_or_flash(lambda: action(edition, form), done, form=form)
    if not outcome:
        return _edition_page(get_or_404(Edition, edition_id), 400, **{form_name: form})
    target = outcome.value.id if isinstance(outcome.value, Edition) else edition_id
    return redirect(url_for("courses_admin.edition", edition_id=target))


@staff_bp.route("/editions/<int:edition_id>/trainers", methods=["POST"])
@admin_required
def assign_trainers(edition_id: int):
    form = TrainersForm()
    _trainer_choices(form.trainers)
    return _edition_action(
        edition_id,
        form,
        "trainers_form",
        lambda e, f: editions.assign_trainers(e, _chosen_trainers(f.trainers.data)),
        _("De trainers zijn bijgewerkt."),
    )


@staff_bp.route("/editions/<int:edition_id>/capacity", methods=["POST"])
@admin_required
def change_capacity(edition_id: int):
    return _edition_action(
        edition_id,
        CapacityForm(),
        "capacity_form",
        lambda e, f: editions.change_capacity(e, f.capacity.data),
        _("De capaciteit is aangepast."),
    )


@staff_bp.route("/editions/<int:edition_id>/details", methods=["POST"])
@admin_required
def change_edition_details(edition_id: int):
    return _edition_action(
        edition_id,
        EditionDetailsForm(),
        "details_form",
        lambda e, f: editions.change_edition_details(
            e,
            editions.EditionDetails(
                location=f.location.data,
                enrollment_deadline=_local(f.enrollment_deadline.data),
                price_seat=f.price_seat.data,
                online_url=f.online_url.data,
            ),
        ),
        _("De gegevens van de editie zijn bijgewerkt."),
    )


@staff_bp.route("/editions/<int:edition_id>/duplicate", methods=["POST"])
@admin_required
def duplicate_edition(edition_id: int):
    return _edition_action(
        edition_id,
        DuplicateForm(),
        "duplicate_form",
        lambda e, f: editions.duplicate_edition(e, f.first_day.data),
        _("De editie is gekopieerd naar de nieuwe datum. Dit is de nieuwe editie."),
    )


@staff_bp.route("/editions/<int:edition_id>/cancel", methods=["POST"])
@admin_required
def cancel_edition(edition_id: int):
    return _edition_action(
        edition_id,
        CancelForm(),
        "cancel_form",
        lambda e, f: editions.cancel_edition(e, f.reason.data, by=current_user),
        _("De editie is geannuleerd."),
    )


# -- sessions ------------------------------------------------------------------------------------
def _back_to(session: TrainingSession) -> str:
    if session.edition_id is not None:
        return url_for("courses_admin.edition", edition_id=session.edition_id)
    return url_for("courses_admin.courses")


@staff_bp.route("/sessions/<int:session_id>/move", methods=["GET", "POST"])
@admin_required
def move_session(session_id: int):
    session = get_or_404(TrainingSession, session_id)
    form = MoveSessionForm()
    if request.method == "GET":
        form.day.data = session.local_start.date()
        form.start.data = session.local_start.time()
        form.end.data = session.local_end.time()
        form.location.data = session.location
    refused = False
    if form.validate_on_submit():
        if commit_or_flash(
            lambda: editions.move_session(
                session,
                trainers.Slot.local(form.day.data, form.start.data, form.end.data),
                location=form.location.data,
                note=form.note.data,
            ),
            _("De sessie is verplaatst."),
            form=form,
        ):
            return redirect(_back_to(session))
        refused = True
        session = get_or_404(TrainingSession, session_id)
    return render_template(
        "courses/admin/session_form.html",
        form=form,
        session=session,
        cancel_form=CancelForm(),
        back=_back_to(session),
    ), (400 if form.errors or refused else 200)


@staff_bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@admin_required
def cancel_session(session_id: int):
    session = get_or_404(TrainingSession, session_id)
    form = CancelForm()
    if form.validate_on_submit():
        if commit_or_flash(
            lambda: editions.cancel_session(session, form.reason.data),
            _("De sessie is geannuleerd."),
            form=form,
        ):
            return redirect(_back_to(session))
        session = get_or_404(TrainingSession, session_id)
    return render_template(
        "courses/admin/session_form.html",
        form=MoveSessionForm(formdata=None),
        session=session,
        cancel_form=form,
        back=_back_to(session),
    ), 400


# -- trainers ------------------------------------------------------------------------------------
@staff_bp.route("/trainers/", endpoint="trainers")
@admin_required
def trainer_list():
    return render_template("courses/admin/trainers.html", trainers=trainers.trainers())


@staff_bp.route("/trainers/<int:user_id>", methods=["GET", "POST"])
@admin_required
def trainer_bio(user_id: int):
    trainer = get_or_404(User, user_id)
    if not trainer.is_trainer:
        abort(404)
    form = TrainerBioForm(obj=trainer)
    refused = False
    if form.validate_on_submit():
        if commit_or_flash(
            lambda: trainers.set_trainer_bio(trainer, form.bio.data),
            _("De beschrijving van %(name)s is opgeslagen.", name=trainer.name),
            form=form,
        ):
            return redirect(url_for("courses_admin.trainers"))
        refused = True
    return render_template("courses/admin/trainer_form.html", form=form, trainer=trainer), (
        400 if form.errors or refused else 200
    )
