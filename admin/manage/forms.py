"""Management forms. Server-side validation; messages are shown next to the field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

REQUIRED = _l("This field is required.")


def required():
    return DataRequired(message=REQUIRED)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class OfficeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[required(), Length(max=120)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = StringField(
        _l("E-mail"),
        validators=[
            Optional(),
            Regexp(
                r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                message=_l("Enter an e-mail address like name@hannover-stadt.de."),
            ),
            Length(max=120),
        ],
    )
    walkin_daily_cap = IntegerField(
        _l("Walk-in tickets per day"),
        validators=[Optional(), NumberRange(1, 999)],
        description=_l(
            "The kiosk stops issuing tickets when the office reaches this number. Empty: no limit."
        ),
    )
    accessibility_de = TextAreaField(
        _l("Accessibility of the building (German)"),
        validators=[Optional(), Length(max=1000)],
        description=_l(
            "Shown on the office's page, e.g. step-free entrance, lift, accessible toilet."
        ),
    )
    accessibility_en = TextAreaField(
        _l("Accessibility of the building (English)"), validators=[Optional(), Length(max=1000)]
    )
    active = BooleanField(_l("Active (shown to residents)"))


class NewOfficeForm(OfficeForm):
    slug = StringField(
        _l("Short name in addresses"),
        validators=[
            required(),
            Regexp(
                r"^[a-z0-9][a-z0-9-]{0,39}$",
                message=_l("Use 1 to 40 lower-case letters, digits and dashes, e.g. bemerode."),
            ),
        ],
        description=_l("Used in web addresses, e.g. /kiosk/bemerode. Cannot be changed later."),
    )
    is_mobile = BooleanField(_l("Mobile office (dates and places instead of weekly hours)"))


class ServiceForm(FlaskForm):
    name_de = StringField(_l("Name (German)"), validators=[required(), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[required(), Length(max=120)])
    description_de = TextAreaField(
        _l("Description (German)"), validators=[Optional(), Length(max=2000)]
    )
    description_en = TextAreaField(
        _l("Description (English)"), validators=[Optional(), Length(max=2000)]
    )
    prefix = StringField(
        _l("Ticket letter"),
        validators=[
            required(),
            Regexp(r"^[A-HJ-NPR-Za-hj-npr-z]$", message=_l("One capital letter; not I, O or Q.")),
        ],
        description=_l("Tickets of this service start with this letter, e.g. P 012."),
    )
    duration_minutes = IntegerField(
        _l("Minutes at the counter"), validators=[required(), NumberRange(1, 240)]
    )
    extra_person_minutes = IntegerField(
        _l("Extra minutes per additional person"),
        default=0,
        validators=[Optional(), NumberRange(0, 120)],
    )
    walk_in_allowed = BooleanField(_l("Walk-ins (kiosk ticket)"), default=True)
    online_bookable = BooleanField(_l("Online appointments"), default=True)
    short_matter = BooleanField(_l("Quick matter"))
    documents_de = TextAreaField(
        _l("Documents to bring (German, one per line)"), validators=[Optional(), Length(max=4000)]
    )
    documents_en = TextAreaField(
        _l("Documents to bring (English, one per line)"), validators=[Optional(), Length(max=4000)]
    )
    online_alternative_url = StringField(
        _l("Online alternative (web address)"),
        validators=[
            Optional(),
            URL(message=_l("Enter a web address starting with https://.")),
            Length(max=300),
        ],
    )


class NewServiceForm(ServiceForm):
    code = StringField(
        _l("Code"),
        validators=[
            required(),
            Regexp(
                r"^[A-Za-z][A-Za-z0-9]{0,9}$",
                message=_l("Capital letters and digits, starting with a letter, at most 10."),
            ),
        ],
        description=_l("A short code, e.g. PA. Cannot be changed later."),
    )


class CounterForm(FlaskForm):
    label = StringField(
        _l("Label"),
        validators=[Optional(), Length(max=40)],
        description=_l("Shown on the displays. Empty: “Platz” and the number."),
    )
    services = MultiCheckboxField(
        _l("Services served at this counter"),
        choices=[],
        validators=[DataRequired(message=_l("Choose at least one service for this counter."))],
    )
    active = BooleanField(_l("In use"), default=True)


class WindowForm(Form):
    start = TimeField(_l("From"), validators=[Optional()])
    end = TimeField(_l("To"), validators=[Optional()])
    capacity = IntegerField(
        _l("Parallel appointments"), validators=[Optional(), NumberRange(1, 99)]
    )

    def validate_end(self, field):
        if bool(self.start.data) != bool(field.data):
            raise ValidationError(_l("Give both the start and the end, or neither."))
        if self.start.data and field.data and field.data <= self.start.data:
            raise ValidationError(_l("The window must end after it starts."))


WINDOW_ROWS = 3


class DayHoursForm(FlaskForm):
    appointment = FieldList(
        FormField(WindowForm),
        label=_l("Appointments"),
        min_entries=WINDOW_ROWS,
        max_entries=WINDOW_ROWS,
    )
    walkin = FieldList(
        FormField(WindowForm),
        label=_l("Walk-ins"),
        min_entries=WINDOW_ROWS,
        max_entries=WINDOW_ROWS,
    )


class ClosureForm(FlaskForm):
    start = DateField(_l("First day"), validators=[required()])
    end = DateField(
        _l("Last day"),
        validators=[Optional()],
        description=_l("Only for several days in a row; empty for a single day."),
    )
    reason = StringField(
        _l("Reason"),
        validators=[required(), Length(max=200)],
        description=_l("Residents and staff see it, e.g. “Betriebsversammlung”."),
    )
    recurring = BooleanField(_l("Every year on this day"))

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The last day must not be before the first day."))


class MobileEventForm(FlaskForm):
    day = DateField(_l("Day"), validators=[required()])
    start = TimeField(_l("From"), validators=[required()])
    end = TimeField(_l("To"), validators=[required()])
    place = StringField(_l("Place"), validators=[required(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    walk_in = BooleanField(_l("Walk-ins"), default=True)
    appointments = BooleanField(_l("Appointments"), default=True)
    services = MultiCheckboxField(
        _l("Services"),
        choices=[],
        validators=[DataRequired(message=_l("Choose at least one service."))],
    )

    def validate_end(self, field):
        if self.start.data and field.data and field.data <= self.start.data:
            raise ValidationError(_l("The end must be after the start."))


class MessageForm(FlaskForm):
    text_de = StringField(_l("Text (German)"), validators=[required(), Length(max=280)])
    text_en = StringField(_l("Text (English)"), validators=[Optional(), Length(max=280)])
    active_from = DateTimeLocalField(
        _l("Show from"), validators=[Optional()], description=_l("Empty: from now.")
    )
    active_until = DateTimeLocalField(
        _l("Show until"), validators=[Optional()], description=_l("Empty: until withdrawn.")
    )


class StaffForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[])
    offices = MultiCheckboxField(_l("Offices"), choices=[])


class NewStaffForm(StaffForm):
    username = StringField(
        _l("User name"),
        validators=[required(), Length(max=80), Regexp(r"^\S+$", message=_l("No spaces, please."))],
    )


class ConfirmActionForm(FlaskForm):
    """A button that changes something (deactivate, revoke...): CSRF only."""
