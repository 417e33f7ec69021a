"""audio_sfu: rooms' audio, a WebRTC selective forwarding unit on aiortc.

It provides the audio transport (``salon_audio_transport``, DESIGN.md section 5)
and the web client's audio (a script on the room page). See README.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel
from starlette.applications import Starlette

from salon.core.hookspecs import hookimpl

from .aiortc_private import check_touch_points
from .settings import AudioSettings
from .sfu import SFU

HERE = Path(__file__).resolve().parent
NAME = "audio_sfu"

# One SFU per running instance, keyed by that instance's settings object (a test
# process may run several instances).
_running: dict[int, SFU] = {}


@hookimpl
def salon_settings_model(name: str) -> type[BaseModel] | None:
    return AudioSettings if name == NAME else None


@hookimpl
def salon_startup(app: Starlette) -> None:
    check_touch_points()
    settings: AudioSettings = app.state.plugin_settings[NAME]
    hub = app.state.hub
    _running[id(app.state.settings)] = SFU(settings, publish=hub.broadcast)


@hookimpl
async def salon_shutdown(app: Starlette) -> None:
    sfu = _running.pop(id(app.state.settings), None)
    if sfu is not None:
        await sfu.shutdown()


@hookimpl
def salon_audio_transport(settings: Any) -> SFU | None:
    return _running.get(id(settings))


@hookimpl
def salon_web_dirs() -> dict[str, Path]:
    return {"static": HERE / "static"}


@hookimpl
def salon_page_assets(page: str, viewer: Any) -> dict[str, Any] | None:
    if page != "room":
        return None
    return {
        "scripts": [f"/static/plugins/{NAME}/audio.js"],
        "styles": [f"/static/plugins/{NAME}/audio.css"],
    }
