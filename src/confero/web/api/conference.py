"""The live conference over REST: its state, and commands named as in the keypad table.
The lobby is shown to the room's moderators only (issue 14), as on the socket.

An account acts either as itself (``participant_id`` omitted: its room role, owner or
member-moderator, decides) or as one of its own participants (joined through ``join``
here, or later from the browser). Every moderator command is checked by the actor.

A command answers once its events are stored (``ConferenceService.settled``): a REST
caller reads its own writes, such as the activity log right after a command. The actor
does not wait for that; only this request does.

In a cluster every route here is answered by the node that runs the room (``OnOwner``,
web/forward.py; issue 16): its state and commands live there.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from confero.app import contract
from confero.app.conferences import build_command
from confero.app.ports import MediaQuality
from confero.app.session import ParticipantSession
from confero.app.wire import event_to_wire
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.web.deps import AccountDep, ServicesDep
from confero.web.forward import OnOwner

router = APIRouter(
    prefix="/api/v1/rooms/{room_id}/conference", tags=["conference"], dependencies=[OnOwner]
)
_ENVELOPE = frozenset({"command", "participant_id", "display_name"})


def _documented(schema: dict[str, Any]) -> None:
    """OpenAPI shows the flat body: the envelope's fields and every command's arguments
    (``arguments`` is only how the server holds them)."""
    props = schema.get("properties", {})
    props.pop("arguments", None)
    bodies = contract.json_schema()
    for body in bodies.get("$defs", {}).values():
        for name, field in body.get("properties", {}).items():
            if name != "command":
                props.setdefault(name, field)
    props["command"]["enum"] = sorted(contract.NAMES | {"join"})


class CommandIn(BaseModel):
    """A command of the one contract (``confero.app.contract``, the same bodies as the
    WebSocket's) plus who sends it: ``participant_id`` (one of the account's own
    participants) and, for ``join``, ``display_name``. Fields no command takes are
    ignored, as they always were."""

    model_config = ConfigDict(json_schema_extra=_documented)

    command: str = Field(max_length=contract.MAX_NAME)
    participant_id: str | None = Field(default=None, max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    arguments: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        given = {k: v for k, v in data.items() if k in contract.ARGUMENTS}
        return {**{k: v for k, v in data.items() if k in _ENVELOPE}, "arguments": given}

    @field_validator("arguments")
    @classmethod
    def _check(cls, value: dict[str, Any]) -> dict[str, Any]:
        return contract.check_arguments(value)


class CommandOut(BaseModel):
    command: str
    participant_id: str | None = None
    events: list[dict[str, Any]]


@router.get("")
async def conference_state(room_id: str, account: AccountDep, svc: ServicesDep) -> dict[str, Any]:
    """The running conference; a phone participant's row carries ``media``: its codec and
    how its audio fares (loss, jitter, round trip, from RTCP; issue 13)."""
    room = await svc.rooms.get(account, room_id)
    state = svc.conferences.snapshot(room)
    if room.role_for_account(account.id) is not Role.MODERATOR:
        # Who knocks is the moderators' to see and decide (issue 14), as on the socket.
        state = {**state, "lobby": []}
    quality = svc.media_quality
    if quality is not None:
        state["participants"] = [_with_media(p, quality) for p in state.get("participants", [])]
    return state


def _with_media(participant: dict[str, Any], quality: MediaQuality) -> dict[str, Any]:
    if participant.get("channel") != "phone":
        return participant
    media = quality.quality_of(str(participant.get("id")))
    return participant if media is None else {**participant, "media": media}


@router.post("/commands", response_model=CommandOut, response_model_exclude_none=True)
async def run_command(
    room_id: str, body: CommandIn, account: AccountDep, svc: ServicesDep
) -> CommandOut:
    room: Room = await svc.rooms.get(account, room_id)
    role = room.role_for_account(account.id)
    if body.command == "join":
        assert role is not None  # visible rooms always give a role
        # No session is kept: a REST participant is in the conference until it leaves.
        session: ParticipantSession[None] = ParticipantSession.start(
            svc.conferences,
            room,
            channel="api",
            role=role,
            name=body.display_name,
            default_name=account.display_name,
            identity=f"account:{account.id}",
            account_id=account.id,
        )
        events = await session.join()
        await svc.conferences.settled(room)
        return CommandOut(
            command="join", participant_id=session.id, events=[event_to_wire(e) for e in events]
        )
    if body.participant_id is not None:
        # As one of the account's own participants: the same session code as a page's
        # button or a phone's keypad (the conference checks the role).
        found = svc.conferences.present(room, body.participant_id)
        if found is None or found.account_id != account.id:
            raise DomainError("auth.forbidden", "that participant is not yours")
        own: ParticipantSession[None] = ParticipantSession.existing(svc.conferences, room, found)
        events = await own.command(body.command, **body.arguments)
    else:
        # As the account itself: its room role decides (an owner without joining).
        command = build_command(body.command, by=None, by_role=role, **body.arguments)
        events = await svc.conferences.command(room, command)
    await svc.conferences.settled(room)
    return CommandOut(
        command=body.command,
        participant_id=body.participant_id,
        events=[event_to_wire(e) for e in events],
    )
