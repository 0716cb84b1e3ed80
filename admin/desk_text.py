"""The texts desk.js shows, translated on the server (one catalogue; German by default).

Placeholders keep the catalogue's ``%(name)s`` form; desk.js fills them in.
"""

from __future__ import annotations

from flask_babel import gettext as _


def desk_strings() -> dict[str, str]:
    return {
        # ticket states, kinds, counter states
        "status.waiting": _("waiting"),
        "status.called": _("called"),
        "status.serving": _("being served"),
        "status.done": _("done"),
        "status.no_show": _("no-show"),
        "status.parked": _("parked"),
        "status.cancelled": _("cancelled"),
        "status.not_served": _("not served"),
        "kind.walkin": _("walk-in"),
        "kind.appointment": _("appointment"),
        "counter.open": _("open"),
        "counter.paused": _("paused"),
        "counter.closed": _("closed"),
        "position.front": _("at the front"),
        "position.back": _("at the back"),
        # small pieces of the lists
        "minutes": _("%(minutes)s min"),
        "about_minutes": _("about %(minutes)s min"),
        "soon": _("very soon"),
        "persons": _("%(count)s persons"),
        "no_estimate": _("no estimate"),
        "priority": _("priority"),
        "for_counter": _("for %(counter)s"),
        "transferred": _("transferred"),
        "due_at": _("appointment %(time)s"),
        "call": _("Call"),
        "unpark": _("Back to the queue"),
        "nobody_waiting_list": _("Nobody is waiting."),
        "no_ticket_here": _("No ticket at this counter."),
        "none_parked": _("No parked tickets."),
        "not_my_service": _("not served here"),
        "no_show_hint": _("Possible after %(needed)s recalls (%(count)s so far)."),
        "no_show_ready": _("The visitor did not come after %(count)s recalls."),
        "waiting_for_me": _("%(count)s waiting for this counter"),
        "keep_service": _("keep %(service)s"),
        "any_counter": _("any counter"),
        # announcements (aria-live) and the activity log
        "called_to": _("%(number)s called to %(counter)s."),
        "recalled": _("%(number)s called again (recall %(count)s)."),
        "started": _("Serving %(number)s."),
        "finished": _("%(number)s finished (%(service)s)."),
        "marked_no_show": _("%(number)s marked as a no-show."),
        "parked": _("%(number)s parked."),
        "unparked": _("%(number)s is waiting again, at the front."),
        "transferred_to": _("%(number)s transferred to %(target)s (%(position)s)."),
        "nobody_waiting": _("Nobody is waiting for %(counter)s."),
        "nobody_waiting_hint": _(
            "New numbers appear here by themselves. Press N or the button to try again."
        ),
        "counter_opened": _("%(counter)s is open."),
        "counter_paused": _("%(counter)s is paused: no new numbers are called here."),
        "counter_closed": _("%(counter)s is closed."),
        "counter_taken": _("%(counter)s is now operated by %(name)s."),
        # connection
        "live": _("Live updates"),
        "polling": _("Updating every %(seconds)s s"),
        "updated_at": _("last update %(time)s"),
        "offline": _("No connection to the server. Retrying…"),
        "online_again": _("Connected to the server again."),
        # errors (from problem+json: by reason, else the server's detail)
        "error.counter_busy": _(
            "%(counter)s still has %(number)s. Finish it, park it, transfer it "
            "or mark it as a no-show first."
        ),
        "error.invalid_transition": _(
            "Not possible for %(number)s: it is %(status)s now. The desk shows the current state."
        ),
        "error.recall_first": _(
            "Recall %(number)s at least %(needed)s times before marking it as a "
            "no-show (recalled %(count)s times so far)."
        ),
        "error.not_today": _(
            "%(number)s is from an earlier day and can no longer be called or transferred."
        ),
        "error.no_such_number": _("There is no ticket %(number)s today."),
        "error.not_found": _("This ticket no longer exists. The desk shows the current state."),
        "error.forbidden": _("Your account has no access to this office."),
        "error.session": _("Your login has ended. Please log in again."),
        "error.csrf": _("The page is too old. Please reload it."),
        "error.network": _("No connection to the server. Nothing was changed; please try again."),
        "error.server": _("Something went wrong on the server. Nothing was changed."),
        "error.generic": _("The action was refused: %(detail)s"),
        "error.enter_number": _("Enter a number such as P042."),
        "error.transfer_target": _("Choose a service or a counter to transfer to."),
        "log_in_again": _("Log in again"),
    }
