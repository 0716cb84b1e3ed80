"""The waiting-room display's snapshot over HTTP: the same as the socket's ``display_state``;
with ``since`` (the seq the display has) also the calls it missed, as ``join_office`` replays
them (``display_replay``)."""

from __future__ import annotations

from flask import jsonify, request

from ..realtime.publish import replay_since
from ..tickets import display
from . import bp


@bp.get("/v1/offices/<slug>/display-state")
def display_state(slug: str):
    state = display.shared_display_state(slug)
    since = request.args.get("since")  # an integer >= 0: checked against the OpenAPI document
    if since is not None:
        state = {**state, "replay": replay_since(slug, int(since), state["seq"])}
    return jsonify(state), 200, {"Cache-Control": "no-store"}
