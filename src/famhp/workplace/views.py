"""The staff workplace's pages (issue 12): thin views over the workplace's selectors and the domain's services.
Each page names its permission (``staff_page``); reading needs a model's view permission, acting a staff
permission of the role matrix (docs/roles.md)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from famhp.billing.forms import ClosingDecisionForm
from famhp.billing.models import AssessmentRun, Invoice, YearSettings
from famhp.billing.selectors import corrections_pending
from famhp.billing.services import assessment_run, corrections_apply, credit_note_issue, year_settings_change
from famhp.converters import year_or_none
from famhp.declarations.models import DeclarationVersion
from famhp.registry.models import Operator
from famhp.workplace import selectors
from famhp.workplace.access import may, staff_page
from famhp.workplace.actions import PERMISSION, action_preview, mass_action_confirm, may_run, uncertain_items
from famhp.workplace.charts import bar_chart
from famhp.workplace.exports import listing_csv, listing_xlsx
from famhp.workplace.forms import ConfirmForm, WhatIfForm, WhatIfSaveForm
from famhp.workplace.lists import LISTINGS, invoices_listing
from famhp.workplace.models import ActionKind, MassAction
from famhp.workplace.whatif import CHANGEABLE, current_parameters, save_preview, what_if

PAGE_SIZE = 50


def _year(request: HttpRequest, year: int | None = None) -> int:
    chosen = year_or_none(year or request.GET.get("year") or selectors.default_year() or timezone.localdate().year)
    if chosen is None:
        raise Http404
    return chosen


def _context(request: HttpRequest, year: int, **extra: Any) -> dict[str, Any]:
    return {
        "year": year,
        "years": selectors.years() or [year],
        "may": {
            codename: may(request, codename)
            for codename in set(PERMISSION.values()) | {"manage_year", "manage_payments"}
        },
        **extra,
    }


@staff_page("billing.view_invoice", "declarations.view_declaration")
def dashboard(request: HttpRequest, year: int | None = None) -> HttpResponse:
    year = _year(request, year)
    board = selectors.dashboard(year, today=timezone.localdate())
    per_day = bar_chart(
        [(day.strftime("%d/%m"), count) for day, count in board.campaign.per_day],
        title=_("First declarations received per day"),
    )
    money = board.money
    ageing = bar_chart([(label, amount) for label, amount, _count in money.ageing], title=_("Overdue by age"), unit="€")
    budgets = bar_chart(
        [
            (label, amount)
            for label, amount in (
                (_("Activity-tax budget"), money.activity_tax_budget),
                (_("Notices issued"), money.notices),
                (_("Levy budget"), money.levy_budget),
                (_("Levy invoices issued"), money.levies),
            )
            if amount is not None  # a year set by its cost per entity has no budget: no bar, never a zero
        ],
        title=_("Budgets and what was invoiced"),
        unit="€",
    )
    actions = [(kind, kind.label) for kind in ActionKind if may(request, PERMISSION[kind])]
    return render(
        request,
        "workplace/dashboard.html",
        _context(
            request,
            year,
            section="dashboard",
            board=board,
            per_day=per_day,
            ageing=ageing,
            budgets=budgets,
            actions=actions,
        ),
    )


@staff_page("registry.view_operator", "billing.view_invoice", "payments.view_allocation")
def operator_detail(request: HttpRequest, pk: int) -> HttpResponse:
    operator = get_object_or_404(Operator, pk=pk)
    page = selectors.operator_page(operator, today=timezone.localdate())
    year = _year(request)
    context = _context(
        request,
        year,
        section="operators",
        page=page,
        operator=operator,
        may_resend=may_run(request.user, ActionKind.RESEND),
        corrections=corrections_pending(year, operator.pk),
    )
    return render(request, "workplace/operator.html", context)


def listing(request: HttpRequest, name: str) -> HttpResponseBase:
    if name not in LISTINGS:
        raise Http404
    _build, permissions = LISTINGS[name]
    return staff_page(*permissions)(_listing)(request, name)


def _listing(request: HttpRequest, name: str) -> HttpResponse:
    build, _permissions = LISTINGS[name]
    year = _year(request)
    params = {key: request.GET.get(key, "") for key in request.GET if key not in {"page", "format"}}
    if build is invoices_listing:
        result = invoices_listing(params, year=year, today=timezone.localdate())
    else:
        result = build(params, year=year)
    export = request.GET.get("format")
    filename = f"famhp-{name}-{params.get('year') or year}"
    if export == "csv":
        return listing_csv(result, filename)
    if export == "xlsx":
        return listing_xlsx(result, filename)
    page = Paginator(result.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "workplace/listing.html",
        _context(
            request,
            year,
            section=name,
            listing=result,
            page=page,
            params=params,
            query=query.urlencode(),
            chosen_year=params.get("year", str(year)),
        ),
    )


@staff_page("billing.view_assessmentrun")
def runs(request: HttpRequest, year: int) -> HttpResponse:
    return render(request, "workplace/runs.html", _context(request, year, section="runs", runs=selectors.runs_of(year)))


@staff_page("billing.view_assessmentrun")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(AssessmentRun, pk=pk)
    results = run.results.select_related("operator").order_by("operator__name", "operator_id")
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    previous = selectors.previous_run(run)
    settings = YearSettings.objects.filter(year=run.year).first()
    confirmed = set(settings.confirmed) if settings else set()
    unconfirmed = [name for name in run.summary.get("unconfirmed", []) if name not in confirmed]
    return render(
        request,
        "workplace/run.html",
        _context(
            request,
            run.year,
            section="runs",
            run=run,
            unconfirmed=unconfirmed,
            totals=selectors.run_totals(run),
            previous=previous,
            previous_totals=selectors.run_totals(previous) if previous else None,
            changes=selectors.run_changes_against_previous(run),
            page=page,
        ),
    )


@require_POST
@staff_page("accounts.manage_year")
def run_assessment(request: HttpRequest, year: int) -> HttpResponse:
    try:
        run, changes = assessment_run(year=year)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("workplace:runs", year=year)
    messages.success(
        request,
        _("%(year)s: %(count)s operators assessed, %(changes)s changed since the previous run.")
        % {"year": year, "count": run.results.count(), "changes": len(changes)},
    )
    return redirect("workplace:run", pk=run.pk)


@staff_page("billing.view_yearsettings", "accounts.manage_year")
def closing(request: HttpRequest, year: int) -> HttpResponse:
    settings = get_object_or_404(YearSettings, year=year)
    form = ClosingDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and form.record(year=year):
        messages.success(request, _("The closing decision of %(year)s is recorded.") % {"year": year})
        return redirect("workplace:dashboard_year", year=year)
    return render(request, "workplace/closing.html", _context(request, year, settings=settings, form=form))


@staff_page("billing.view_yearsettings", "registry.view_operator")
def whatif(request: HttpRequest, year: int) -> HttpResponse:
    current = current_parameters(year)
    form = WhatIfForm(request.GET if "activity_tax_share" in request.GET else None, initial=current)
    result = None
    chart = None
    save_form = None
    if form.is_bound and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in CHANGEABLE}
        result = what_if(year, changes)
        if not result.problems:
            chart = bar_chart(
                [(label, after) for label, _before, after in result.distribution],
                title=_("Operators per amount due, with the changed parameters"),
            )
            if may(request, "manage_year"):
                save_form = WhatIfSaveForm.for_preview(changes, result.current)
    rows = Paginator(result.rows if result else [], PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workplace/whatif.html",
        _context(
            request,
            year,
            form=form,
            result=result,
            chart=chart,
            rows=rows,
            current=current,
            query=query.urlencode(),
            save_form=save_form,
        ),
    )


@require_POST
@staff_page("billing.view_yearsettings", "accounts.manage_year")
def whatif_save(request: HttpRequest, year: int) -> HttpResponse:
    """Save a what-if's parameters as the year's settings: first the confirmation step (each value old → new,
    what follows), then, posted with "save", billing's ``year_settings_change``. A second post, or a post over
    someone else's change since the what-if, is refused by the service and changes nothing."""
    form = WhatIfSaveForm(request.POST)
    if not form.is_valid() and set(form.errors) - {"reason"}:  # a wrong reason is said on the page itself
        messages.error(request, _("These parameters cannot be saved as they were sent: compute the what-if again."))
        return redirect("workplace:whatif", year=year)
    if "save" in request.POST and not form.errors:
        try:
            done = year_settings_change(
                year=year,
                changes=form.changes(),
                by=request.user,
                reason=form.cleaned_data["reason"] or _("Saved from the what-if"),
                confirm=form.cleaned_data["confirm_parameters"],
                based_on=form.based_on(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("The settings of %(year)s are saved (%(names)s). Run the assessment again to apply them.")
                % {"year": year, "names": ", ".join(change.label for change in done)},
            )
            return redirect("workplace:runs", year=year)
    preview = save_preview(year, form.changes(), form.based_on())
    return render(
        request,
        "workplace/whatif_confirm.html",
        _context(
            request,
            year,
            form=form,
            preview=preview,
            next_step=selectors.NEXT_STEP[preview.state],
            back=urlencode({name: "" if value is None else value for name, value in form.changes().items()}),
        ),
    )


def _action_kind(kind: str) -> ActionKind:
    try:
        chosen = ActionKind(kind)
    except ValueError:
        raise Http404 from None
    if chosen == ActionKind.RESEND:  # about one operator: from its page
        raise Http404
    return chosen


def action(request: HttpRequest, year: int, kind: str) -> HttpResponseBase:
    chosen = _action_kind(kind)
    return staff_page(f"accounts.{PERMISSION[chosen]}")(_action)(request, year, chosen)


def _action(request: HttpRequest, year: int, kind: ActionKind, operator: Operator | None = None) -> HttpResponse:
    preview = action_preview(kind, year, operator=operator)
    form = ConfirmForm(request.POST or None, initial={"key": uuid.uuid4()})
    if request.method == "POST" and form.is_valid():
        try:
            confirmed, new = mass_action_confirm(
                kind=kind, year=year, key=form.cleaned_data["key"], by=request.user, preview=preview
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if new:
                from famhp.workplace.tasks import run_mass_action

                result = run_mass_action.enqueue(confirmed.pk)
                MassAction.objects.filter(pk=confirmed.pk, task_id="").update(task_id=str(result.id))
            else:
                messages.info(request, _("This action was confirmed already: here is its progress."))
            return redirect("workplace:progress", pk=confirmed.pk)
    recipients = Paginator(preview.recipients, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "workplace/action.html",
        _context(request, year, section="whatif", kind=kind, preview=preview, form=form, recipients=recipients),
    )


def _own_action(request: HttpRequest, pk: int) -> MassAction:
    found = get_object_or_404(MassAction, pk=pk)
    if not may_run(request.user, found.kind):
        raise PermissionDenied
    return found


@staff_page("registry.view_operator")
def resend(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    """Support sends one operator its personal link again (docs/roles.md: manage_contacts; or manage_campaign)."""
    if not may_run(request.user, ActionKind.RESEND):
        raise PermissionDenied
    return _action(request, year, ActionKind.RESEND, get_object_or_404(Operator, pk=pk))


@require_POST
@staff_page("billing.view_invoice", "accounts.issue_invoices")
def credit(request: HttpRequest, pk: int) -> HttpResponse:
    """Credit one invoice in full (RULES §8) with the reason given; the service refuses a second credit note."""
    invoice = get_object_or_404(Invoice, pk=pk)
    try:
        note = credit_note_issue(invoice=invoice, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("%(invoice)s is credited by %(note)s.") % {"invoice": invoice.number, "note": note.number}
        )
    return redirect("workplace:operator", pk=invoice.operator_id)


@require_POST
@staff_page("billing.view_invoice", "accounts.issue_invoices")
def correct(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    """The correction after invoicing of one operator (D8): reassessed, credited and invoiced again where an
    amount changes; nothing where nothing does."""
    operator = get_object_or_404(Operator, pk=pk)
    try:
        done = corrections_apply(year=year, operator=operator)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(operator)s reassessed: %(count)s invoices corrected.")
            % {"operator": operator.name, "count": len(done)},
        )
    return redirect("workplace:operator", pk=pk)


@staff_page()
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    found = _own_action(request, pk)
    if found.finished:
        return redirect("workplace:result", pk=pk)
    return render(request, "workplace/progress.html", _context(request, found.year, action=found))


@require_POST
@staff_page()
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue an unfinished action again (its worker stopped): what it claimed is never sent twice."""
    found = _own_action(request, pk)
    if not found.finished:
        from famhp.workplace.tasks import run_mass_action

        run_mass_action.enqueue(found.pk)
        messages.info(request, _("The action is queued again: items already handled are skipped."))
    return redirect("workplace:progress", pk=pk)


@staff_page()
def result(request: HttpRequest, pk: int) -> HttpResponse:
    found = _own_action(request, pk)
    if not found.finished:
        return redirect("workplace:progress", pk=pk)
    return render(
        request,
        "workplace/result.html",
        _context(request, found.year, action=found, uncertain=uncertain_items(found)),
    )


@staff_page("declarations.view_declarationversion")
def certificate(request: HttpRequest, pk: int) -> FileResponse:
    version = get_object_or_404(
        DeclarationVersion.objects.select_related("declaration__campaign", "declaration__operator"), pk=pk
    )
    if not version.certificate:
        raise Http404
    declaration = version.declaration
    response = FileResponse(
        version.certificate.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"certificate-{declaration.campaign.year}-{declaration.operator.identifier}-v{version.number}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response
