"""Automated accessibility checks in browser tests with axe-core (vendored, see tools/vendor.sh).

axe finds a part of WCAG failures only (contrast, names, roles, ARIA, structure); keyboard use,
focus order and wording still need the tests' own steps and a person looking.
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page, context: str = "document") -> list[str]:
    """The WCAG 2.1 A/AA rules the page (or ``context``, a CSS selector) breaks, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluated through the DevTools protocol: the pages' Content-Security-Policy
        # (script-src 'self') blocks an injected <script> element, not this
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found = page.evaluate(
        """async ([context, tags]) => {
            const target = context === "document" ? document : document.querySelector(context);
            const result = await axe.run(target, { runOnly: { type: "tag", values: tags } });
            return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} -- `
                + v.nodes.map((n) => n.target.join(" ")).join(", "));
        }""",
        [context, WCAG_21_AA],
    )
    return list(found)
