"""Alumni pool pages: search for clients and staff, the profile for alumni, match requests."""

import json

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from ..auth.views import limit_password_checks
from ..core.personal_cache import personal_page
from ..errors import DomainError
from ..extensions import db, limiter
from ..i18n import lazy_gettext as _l
from ..permissions import MAX_ID, get_or_404, get_visible_or_404, roles_required
from ..web import answers_too_large, attach_error, commit_or_flash
from . import bp, geo, matches, photos, privacy, search, services
from .consent import CONSENT_PARAGRAPHS, CONSENT_VERSION
from .forms import (
    ButtonForm,
    DeclineForm,
    DeleteAccountForm,
    MatchRequestForm,
    PhotoForm,
    ProfileForm,
    PublishForm,
    SearchForm,
)
from .match_models import MatchRecipient, MatchRequest, Shortlist
from .models import PROVINCES, AlumniProfile, ProfilePhoto

client_or_staff = roles_required("client", "admin")


# -- search ----------------------------------------------------------------------------------------
def _search_form() -> SearchForm:
    form = SearchForm(formdata=request.args)
    form.specialisation.choices = [("", _("Alle specialisaties"))] + [
        (s.slug, s.name) for s in services.active_specialisations()
    ]
    form.course.choices = [("", _("Alle trainingen"))] + [
        (str(c.id), c.title) for c in search.qualifying_courses()
    ]
    return form


def _criteria(form: SearchForm) -> search.SearchCriteria:
    course = form.course.data or ""
    course_id = int(course) if course.isdigit() else None
    if course_id is not None and course_id > MAX_ID:
        course_id = -1  # no course has it, as with any unknown number; the database would raise
    return search.SearchCriteria(
        province=form.province.data or None,
        languages=[code for code in form.language.data or [] if code],
        specialisation=form.specialisation.data or None,
        tag=(form.tag.data or "").lower() or None,
        min_assemblies=form.min_assemblies.data,
        min_years=form.min_years.data,
        dates=form.dates.dates,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        course_id=course_id,
        # Anything but a day's number is -1, which the service refuses in Dutch.
        weekdays=[int(d) if d.isdigit() and len(d) == 1 else -1 for d in form.weekday.data or []],
        q=form.q.data or "",
    )


def _wants_json() -> bool:
    return request.args.get("format") == "json" or (
        request.accept_mimetypes.best == "application/json"
    )


def _search_url(**changes) -> str:
    """The current search with some parameters changed (None removes one)."""
    args = request.args.to_dict(flat=False)
    args.pop("page", None)
    args.pop("format", None)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for("alumni.search", **args)


def _card_urls(profile: AlumniProfile) -> dict[str, str | None]:
    return {
        "profile_url": url_for("alumni.profile", profile_id=profile.id),
        "photo_url": url_for("alumni.photo", profile_id=profile.id, version=profile.photo_version)
        if profile.has_photo
        else None,
    }


@bp.route("/", endpoint="search")
@personal_page
@client_or_staff
def search_page():
    form = _search_form()
    result = None
    if form.validate():
        criteria = _criteria(form)
        try:
            result = search.search(criteria, page=form.page.data or 1)
        except DomainError as exc:
            if not attach_error(form, exc):
                form.form_errors.append(str(exc))  # a search commits nothing: no flash
    if result is None:
        if _wants_json():
            return jsonify({"errors": form.errors or {"": form.form_errors}}), 400
        return render_template("alumni/search.html", form=form, result=None, map=None), 400
    if _wants_json():
        return jsonify(
            {
                "total": result.total,
                "page": result.page,
                "pages": result.pages,
                "province_counts": result.province_counts,
                "results": [
                    search.public_card(p, result.trainings.get(p.user_id, []), _card_urls(p))
                    for p in result.profiles
                ],
            }
        )
    selected = form.province.data or None
    province_map = geo.province_map(
        result.province_counts,
        selected=selected,
        link=lambda code: _search_url(province=None if code == selected else code),
    )
    return render_template(
        "alumni/search.html",
        form=form,
        result=result,
        map=province_map,
        page_url=lambda page: _search_url(page=page),
        tag_url=lambda tag: _search_url(tag=tag),
        provinces=PROVINCES,
        is_staff=current_user.has_role("admin"),
    )


@bp.route("/<int:profile_id>")
@login_required
def profile(profile_id: int):
    shown = get_visible_or_404(AlumniProfile, profile_id)
    trainings = search.verified_trainings([shown.user_id]).get(shown.user_id, [])
    return render_template(
        "alumni/profile.html",
        profile=shown,
        trainings=trainings,
        is_owner=shown.user_id == current_user.id,
    )


@bp.route("/<int:profile_id>/photo/<int:version>.jpg")
@login_required
def photo(profile_id: int, version: int):
    shown = get_visible_or_404(AlumniProfile, profile_id)
    stored = db.session.get(ProfilePhoto, shown.id)
    if stored is None:
        abort(404)
    response = Response(stored.data, mimetype=stored.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


# -- the alumnus' own profile ----------------------------------------------------------------------
def _profile_form(profile: AlumniProfile | None, *, submitted: bool | None = None) -> ProfileForm:
    """The profile form: as posted when it was `submitted` (by default: on a POST), else filled
    from the stored profile (also under another form's POST, such as the photo's)."""
    if submitted is None:
        submitted = request.method == "POST"
    if submitted:
        form = ProfileForm()
    elif profile is not None:
        form = ProfileForm(
            formdata=None,
            data={
                "display_name": profile.display_name,
                "headline": profile.headline,
                "bio": profile.bio,
                "province": profile.province,
                "municipality": profile.municipality,
                "travel_provinces": profile.travel_provinces,
                "languages": profile.languages,
                "specialisations": [s.id for s in profile.specialisations],
                "tags": ", ".join(profile.tags),
                "assemblies_count": profile.assemblies_count,
                "sessions_count": profile.sessions_count,
                "years_experience": profile.years_experience,
                "weekdays": profile.weekdays,
                "blocked_dates": ", ".join(d.strftime("%d-%m-%Y") for d in profile.blocked_dates),
            },
        )
    else:
        form = ProfileForm(
            formdata=None, data={"display_name": current_user.name, "languages": ["nl"]}
        )
    form.specialisations.choices = [(s.id, s.name) for s in services.active_specialisations()]
    return form


def _render_profile_edit(profile, form, photo_form=None, status=200):
    return render_template(
        "alumni/profile_edit.html",
        profile=profile,
        form=form,
        photo_form=photo_form or PhotoForm(formdata=None),
        button=ButtonForm(formdata=None),
        trainings=search.verified_trainings([current_user.id]).get(current_user.id, []),
    ), status


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile_edit():
    if not services.may_have_profile(current_user):
        return render_template("alumni/not_eligible.html")
    profile = services.profile_of(current_user)
    form = _profile_form(profile)
    refused = False
    if form.validate_on_submit():
        data = services.ProfileData(
            display_name=form.display_name.data,
            headline=form.headline.data or "",
            bio=form.bio.data or "",
            province=form.province.data,
            municipality=form.municipality.data or "",
            travel_provinces=form.travel_provinces.data or [],
            languages=form.languages.data or [],
            specialisation_ids=form.specialisations.data or [],
            tags=form.tags.data or "",
            assemblies_count=form.assemblies_count.data or 0,
            sessions_count=form.sessions_count.data or 0,
            years_experience=form.years_experience.data or 0,
            weekdays=form.weekdays.data or [],
            blocked_dates=form.blocked_dates.dates,
        )
        saved = commit_or_flash(
            lambda: services.save_profile(current_user, data),
            _("Uw profiel is opgeslagen."),
            form=form,
        )
        if saved:
            if not saved.value.published:
                return redirect(url_for("alumni.publish"))
            return redirect(url_for("alumni.profile_edit"))
        refused = True
    return _render_profile_edit(profile, form, status=400 if form.errors or refused else 200)


def _own_profile_or_redirect():
    profile = services.profile_of(current_user)
    if profile is None:
        flash(_("Maak eerst uw profiel aan."), "info")
    return profile


def _photo_too_large():
    """The profile page with the refusal on the photo field, for an upload over the request
    limit (MAX_CONTENT_LENGTH): its body was never read, so nothing of it is kept."""
    size, max_bytes = request.content_length or 0, current_app.config["ALUMNI_PHOTO_MAX_BYTES"]
    if size <= max_bytes or not current_user.is_authenticated:
        return None  # too many or too long form fields, not a too large photo: the general page
    profile = services.profile_of(current_user)
    if profile is None:
        return None
    photo_form = PhotoForm(formdata=None)
    attach_error(photo_form, photos.too_large(size, max_bytes))
    return _render_profile_edit(
        profile, _profile_form(profile, submitted=False), photo_form, status=413
    )


@bp.route("/profile/photo", methods=["POST"])
@answers_too_large(_photo_too_large)
@login_required
def photo_upload():
    profile = _own_profile_or_redirect()
    if profile is None:
        return redirect(url_for("alumni.profile_edit"))
    photo_form = PhotoForm()
    if photo_form.validate_on_submit():
        upload = photo_form.photo.data
        source = upload.stream if upload else b""
        if commit_or_flash(
            lambda: services.set_photo(profile, source),
            _("Uw foto is opgeslagen."),
            form=photo_form,
        ):
            return redirect(url_for("alumni.profile_edit"))
    profile_form = _profile_form(profile, submitted=False)
    return _render_profile_edit(profile, profile_form, photo_form, status=400)


@bp.route("/profile/photo/delete", methods=["POST"])
@login_required
def photo_delete():
    profile = _own_profile_or_redirect()
    if profile is not None and ButtonForm().validate_on_submit():
        commit_or_flash(lambda: services.remove_photo(profile), _("Uw foto is verwijderd."))
    return redirect(url_for("alumni.profile_edit"))


@bp.route("/profile/publish", methods=["GET", "POST"])
@login_required
def publish():
    profile = _own_profile_or_redirect()
    if profile is None:
        return redirect(url_for("alumni.profile_edit"))
    form = PublishForm()
    refused = False
    if form.validate_on_submit():
        if commit_or_flash(
            lambda: services.publish_with_consent(profile, consent_given=bool(form.consent.data)),
            _("Uw profiel is gepubliceerd. Opdrachtgevers kunnen u nu vinden."),
            form=form,
        ):
            return redirect(url_for("alumni.profile_edit"))
        refused = True
    return render_template(
        "alumni/publish.html",
        profile=profile,
        form=form,
        paragraphs=CONSENT_PARAGRAPHS,
        version=CONSENT_VERSION,
    ), 400 if form.errors or refused else 200


def _profile_action(action, success: str):
    profile = _own_profile_or_redirect()
    if profile is not None and ButtonForm().validate_on_submit():
        commit_or_flash(lambda: action(profile), success)
    return redirect(url_for("alumni.profile_edit"))


@bp.route("/profile/unpublish", methods=["POST"])
@login_required
def unpublish():
    return _profile_action(
        services.unpublish,
        _("Uw profiel is offline gehaald en uw toestemming ingetrokken."),
    )


@bp.route("/profile/confirm", methods=["POST"])
@login_required
def confirm():
    return _profile_action(
        services.confirm, _("Dank u. Uw profiel blijft de komende twaalf maanden vindbaar.")
    )


# -- answering match requests ----------------------------------------------------------------------
@bp.route("/inbox")
@login_required
def inbox():
    return render_template(
        "alumni/inbox.html",
        recipients=matches.inbox(current_user),
        button=ButtonForm(formdata=None),
        decline_form=DeclineForm(formdata=None),
    )


def _own_recipient(recipient_id: int) -> MatchRecipient:
    recipient = get_or_404(MatchRecipient, recipient_id)
    if not recipient.can_answer(current_user):
        abort(404)
    return recipient


def _answer(recipient: MatchRecipient, decision: str, note: str | None) -> bool:
    if decision == "accept":
        answered = commit_or_flash(
            lambda: matches.accept(recipient),
            _(
                "U heeft het verzoek geaccepteerd. U en de opdrachtgever krijgen elkaars "
                "contactgegevens per e-mail."
            ),
        )
    else:
        answered = commit_or_flash(
            lambda: matches.decline(recipient, note),
            _("U heeft het verzoek afgewezen. De opdrachtgever krijgt bericht."),
        )
    return bool(answered)


@bp.route("/inbox/<int:recipient_id>/<any(accept, decline):decision>", methods=["POST"])
@login_required
def answer(recipient_id: int, decision: str):
    recipient = _own_recipient(recipient_id)
    form = DeclineForm()
    if form.validate_on_submit():
        _answer(recipient, decision, form.note.data)
    return redirect(url_for("alumni.inbox"))


@bp.route("/respond/<int:recipient_id>/<token>", methods=["GET", "POST"])
def respond(recipient_id: int, token: str):
    """The signed link from the mail: a page with buttons, so a mail scanner's GET changes
    nothing; the POST carries the token again."""
    try:
        recipient = matches.recipient_for_token(recipient_id, token)
    except matches.MatchLinkInvalid as exc:
        return render_template("alumni/respond_invalid.html", message=str(exc)), 400
    form = DeclineForm()
    if request.method == "POST" and form.validate_on_submit():
        decision = request.form.get("decision")
        if decision not in ("accept", "decline"):
            abort(400)
        if _answer(recipient, decision, form.note.data):
            return redirect(url_for("alumni.respond", recipient_id=recipient_id, token=token))
    return render_template(
        "alumni/respond.html", recipient=recipient, request_=recipient.request, form=form
    )


# -- sending match requests ------------------------------------------------------------------------
def _selected_profiles(raw_ids) -> tuple[list[AlumniProfile], bool]:
    """The chosen profiles this user may see, and whether any chosen id was left out."""
    ids, beyond = [], False
    for raw in raw_ids:
        for part in str(raw).split(","):
            if part.strip().isdigit():
                # A number beyond any id names no profile (and the database would raise on it).
                if int(part) > MAX_ID:
                    beyond = True
                else:
                    ids.append(int(part))
    ids = list(dict.fromkeys(ids))[:50]
    if not ids:
        return [], beyond
    found = {
        p.id: p for p in db.session.scalars(select(AlumniProfile).where(AlumniProfile.id.in_(ids)))
    }
    # Someone may only ask for a profile they are allowed to see.
    visible = [found[i] for i in ids if i in found and found[i].can_view(current_user)]
    return visible, beyond or len(visible) < len(ids)


UNAVAILABLE = _l(
    "Een of meer gekozen gespreksbegeleiders zijn niet (meer) beschikbaar. Kies opnieuw."
)


def _contact_limit() -> str:
    return current_app.config["CONTACT_RATE_LIMIT"]


@bp.route("/requests/new", methods=["GET", "POST"])
@client_or_staff
@limiter.limit(_contact_limit, methods=["POST"])
def request_new():
    form = MatchRequestForm()
    raw = request.form.get("profiles", "") if request.method == "POST" else None
    profiles, missing = _selected_profiles(
        [raw] if raw is not None else request.args.getlist("profile")
    )
    shortlist_id = request.args.get("shortlist", type=int)
    shortlist = None
    if shortlist_id:
        shortlist = get_visible_or_404(Shortlist, shortlist_id)
    if request.method == "GET":
        form.profiles.data = ",".join(str(p.id) for p in profiles)
        if current_user.organisation and not form.organisation_name.data:
            form.organisation_name.data = current_user.organisation.name
    refused = False
    if form.validate_on_submit():

        def send_request():
            if missing:
                raise DomainError(UNAVAILABLE, field="profiles")
            return matches.create_request(
                current_user,
                profiles,
                assembly=form.assembly.data,
                organisation_name=form.organisation_name.data,
                dates=form.dates.dates,
                place=form.place.data,
                role=form.role.data,
                message=form.message.data,
                shortlist=shortlist,
            )

        sent = commit_or_flash(send_request, form=form)
        if sent:
            flash(
                ngettext(
                    "Uw verzoek is verstuurd aan %(num)s gespreksbegeleider. U krijgt bericht "
                    "zodra die antwoordt.",
                    "Uw verzoek is verstuurd aan %(num)s gespreksbegeleiders. U krijgt bericht "
                    "zodra iemand antwoordt.",
                    len(sent.value.recipients),
                ),
                "success",
            )
            return redirect(url_for("alumni.request_detail", request_id=sent.value.id))
        refused = True
    status = 400 if (form.errors or refused) else 200
    if not profiles and request.method == "GET":
        flash(_("Kies eerst een of meer gespreksbegeleiders in de zoekresultaten."), "info")
        return redirect(url_for("alumni.search"))
    return render_template(
        "alumni/request_new.html",
        form=form,
        profiles=profiles,
        limit=current_app.config["ALUMNI_MATCH_DAILY_LIMIT"],
        used=matches.contacted_today(current_user),
    ), status


@bp.route("/requests/")
@client_or_staff
def requests():
    return render_template(
        "alumni/requests.html", requests=matches.requests_visible_to(current_user)
    )


@bp.route("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int):
    shown = get_visible_or_404(MatchRequest, request_id)
    return render_template("alumni/request_detail.html", request_=shown)


@bp.route("/shortlists/<int:shortlist_id>")
@login_required
def shortlist(shortlist_id: int):
    shown = get_visible_or_404(Shortlist, shortlist_id)
    visible = [e for e in shown.entries if e.profile.is_searchable()]
    trainings = search.verified_trainings([e.profile.user_id for e in visible])
    return render_template(
        "alumni/shortlist.html", shortlist=shown, entries=visible, trainings=trainings
    )


# -- privacy ---------------------------------------------------------------------------------------
@bp.route("/privacy")
@login_required
def privacy_page():
    return render_template(
        "alumni/privacy.html",
        form=DeleteAccountForm(formdata=None),
        profile=services.profile_of(current_user),
    )


@bp.route("/privacy/export.json")
@login_required
def privacy_export():
    body = json.dumps(privacy.export_data(current_user), ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="mijn-gegevens.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/privacy/delete", methods=["POST"])
@login_required
@limit_password_checks
def privacy_delete():
    form = DeleteAccountForm()
    if form.validate_on_submit() and commit_or_flash(
        lambda: privacy.delete_account(current_user, password=form.password.data), form=form
    ):
        logout_user()
        flash(_("Uw account is verwijderd. Bedankt voor uw deelname."), "success")
        return redirect(url_for("courses.home"))
    return render_template(
        "alumni/privacy.html", form=form, profile=services.profile_of(current_user)
    ), 400
