from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from famhp.admin_base import ReadOnlyAdmin
from famhp.declarations.models import Campaign, Declaration, DeclarationVersion, Invitation
from famhp.declarations.services import REMINDER_ROUND_INTERVAL, campaign_send_invitations, campaign_send_reminders
from famhp.mailing import SendFailure, failures_report


@admin.register(Campaign)
class CampaignAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("year", "deadline", "late_filing_until")
    actions = ["send_invitations", "send_reminders"]

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> tuple[str, ...]:
        """An open campaign's dates change only in the workplace (/workplace/<year>/settings/campaign/), through
        ``campaign_dates_change``: its checks (invoices fix the deadline, filed declarations stay on time or
        late) and the reason kept in the history."""
        return ("year", "deadline", "late_filing_until") if obj is not None else ()

    @admin.action(permissions=["manage_campaign"], description=_("Send the invitations not yet sent"))
    def send_invitations(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            failures: list[SendFailure] = []
            count = campaign_send_invitations(campaign=campaign, failures=failures)
            messages.success(
                request, _("%(year)s: %(count)s invitations sent.") % {"year": campaign.year, "count": count}
            )
            if failures:
                messages.warning(request, failures_report(failures))

    @admin.action(permissions=["manage_campaign"], description=_("Remind those who have not declared"))
    def send_reminders(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            failures: list[SendFailure] = []
            count = campaign_send_reminders(
                campaign=campaign, failures=failures, round_interval=REMINDER_ROUND_INTERVAL
            )
            messages.success(
                request,
                _("%(year)s: %(count)s reminders sent (not again to those reminded in the last 24 hours).")
                % {"year": campaign.year, "count": count},
            )
            if failures:
                messages.warning(request, failures_report(failures))


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("campaign", "operator", "email", "language", "sent_at", "reminders_sent")
    list_filter = ("campaign", "language", "reminders_sent")
    search_fields = ("operator__name", "email")
    raw_id_fields = ("operator",)


class VersionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DeclarationVersion
    extra = 0
    can_delete = False
    fields = (
        "number",
        "total_turnover",
        "levied_turnover",
        "below_threshold",
        "not_liable",
        "certifier_name",
        "certifier_capacity",
        "certificate",
        "submitted_at",
        "late",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Declaration)
class DeclarationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("campaign", "operator", "created_at")
    list_filter = ("campaign", "versions__late")
    search_fields = ("operator__name", "operator__enterprise_number")
    inlines = [VersionInline]
    readonly_fields = ("campaign", "operator")


@admin.register(DeclarationVersion)
class DeclarationVersionAdmin(ReadOnlyAdmin):
    """Versions are facts: the agency reads them all, never edits them."""

    list_display = ("declaration", "number", "total_turnover", "levied_turnover", "submitted_at", "late")
    list_filter = ("declaration__campaign", "late", "certifier_capacity", "below_threshold")
    search_fields = ("declaration__operator__name",)
