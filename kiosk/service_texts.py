"""Texts of the demo catalogue for the kiosk's other languages, and the service group headings.

Services have German and English names in the catalogue (staff edit them). For Turkish, Arabic
and Ukrainian the kiosk looks the English text up in this package's translation catalogue
(``queue_service.offices.texts``). The list below only exists so that the extractor puts the
demo catalogue's English texts into kiosk/translations; a service whose English text is not
here (added or renamed by staff) is shown in English on a Turkish, Arabic or Ukrainian kiosk.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

DEMO_SERVICE_TEXTS = [
    # PA
    _l("Apply for an identity card"),
    _l("New identity card. Fingerprints and signature are taken at the counter."),
    # RP
    _l("Apply for a passport (also express)"),
    _l("New passport, express service on request (about 3 working days)."),
    # KID
    _l("Identity card or passport for a child"),
    _l("The child must be present. All legal guardians must consent."),
    # VD
    _l("Temporary identity card or passport"),
    _l("Issued on the spot, only together with an application for a new document."),
    # AB
    _l("Collect an identity card or passport"),
    _l("Quick matter. Please bring your old document and the PIN letter."),
    # VL
    _l("Report a lost or stolen identity document"),
    _l("Usually together with an application for a new document."),
    # EID
    _l("Activate the online ID or reset the PIN"),
    _l("Free of charge. Since 2024 only possible in person."),
    # AN
    _l("Register or change your address"),
    _l("Within two weeks of moving in. A change of address can also be done online."),
    # ABM
    _l("Deregistration (moving abroad)"),
    _l("Also possible in writing or online."),
    # MB
    _l("Certificate of registration"),
    _l("Quick matter. Often also available online."),
    # FZ
    _l("Apply for a certificate of conduct"),
    _l("Also possible online at the Federal Office of Justice with the online ID."),
    # BG
    _l("Certified copy (per document)"),
    _l("Certification of copies and signatures."),
    # FS
    _l("Exchange a driving licence"),
    _l("Exchange of old paper and card licences."),
    # IFS
    _l("International driving permit"),
    _l("Only with a valid card licence."),
    # BPA
    _l("Resident parking permit"),
    _l("For residents of parking zones."),
    # FUN
    _l("Lost property (hand in or collect)"),
    _l("The lost property office is at Schützenplatz."),
    # BEF
    _l("Exemption from the duty to hold an ID"),
    _l("For example for people living in care homes."),
]

# texts of the shared base template that the kiosk's own languages need as well
BASE_TEXTS = [_l("Skip to content")]

# Service.group -> heading on the start screen, in this order; unknown groups go last
GROUPS = {
    "documents": _l("ID cards and passports"),
    "short": _l("Quick matters"),
    "registration": _l("Registering where you live"),
    "certificates": _l("Certificates"),
    "driving": _l("Driving licences"),
    "other": _l("Other matters"),
}
_ORDER = {key: index for index, key in enumerate(GROUPS)}


def group_label(group: str) -> str:
    return str(GROUPS[group]) if group in GROUPS else _("Other matters")


def group_order(group: str) -> int:
    return _ORDER.get(group, len(_ORDER))
