"""Whiteboard messages on the meeting socket (issue 12, F-RC1; docs/SIGNALING.md
"Boards"): who may draw, as whom, and how fast.

Why apart from the gateway: boards share the socket, not its media or conference
follow-up. A socket reads and draws only if it reads the room's content (an account
with a role in the room, or a participant in its meeting); a moderator may delete and
clear. Authors are named by ``author_key``, never by account id, which guests would read
in every item (issue 14). One socket sends at most ``BOARD_BURST`` messages per
``BOARD_WINDOW`` seconds (a pen stroke is one message, however long).
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections import deque
from collections.abc import Callable

from confero.app.boards import BoardService
from confero.app.conferences import ConferenceService
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.webrtc import signaling as s
from confero.webrtc.visitor import Visitor

BOARD_BURST = 100
BOARD_WINDOW = 5.0

BoardMessage = s.BoardList | s.BoardCreate | s.BoardRename | s.BoardDelete | s.BoardOpen | s.BoardOp
BOARD_MESSAGES = (s.BoardList, s.BoardCreate, s.BoardRename, s.BoardDelete, s.BoardOpen, s.BoardOp)


def author_key(room_id: str, account_id: str) -> str:
    """Who drew, for an account: stable in the room, but no account id."""
    digest = hashlib.sha256(f"{room_id}:{account_id}".encode()).hexdigest()
    return f"a-{digest[:24]}"


class BoardMessages:
    def __init__(
        self,
        boards: BoardService | None,
        conferences: ConferenceService,
        reads_content: Callable[[Visitor], bool],
    ) -> None:
        self.boards = boards
        self.conferences = conferences
        self._reads_content = reads_content
        self._sent: weakref.WeakKeyDictionary[Visitor, deque[float]] = weakref.WeakKeyDictionary()

    async def handle(self, v: Visitor, msg: BoardMessage) -> None:
        boards, by, moderator = self._user(v)
        room_id = v.room.id
        match msg:
            case s.BoardList():
                v.push(s.message("boards", ref=msg.ref, boards=await boards.list(room_id)))
            case s.BoardCreate():
                made = await boards.create(room_id, msg.name, by=by)
                v.push(s.message("result", ref=msg.ref, ok=True, board=made))
            case s.BoardRename():
                renamed = await boards.rename(room_id, msg.board_id, msg.name, by=by)
                v.push(s.message("result", ref=msg.ref, ok=True, board=renamed))
            case s.BoardDelete():
                await boards.delete(room_id, msg.board_id, moderator=moderator, by=by)
                v.push(s.message("result", ref=msg.ref, ok=True))
            case s.BoardOpen():
                state = await boards.state(room_id, msg.board_id)
                v.push(s.message("board_state", ref=msg.ref, **state))
            case s.BoardOp():
                op = msg.op.model_dump()
                seq = await boards.apply(room_id, msg.board_id, op, by=by, moderator=moderator)
                v.push(s.message("result", ref=msg.ref, ok=True, seq=seq))

    def _user(self, v: Visitor) -> tuple[BoardService, str, bool]:
        """The board service, who draws (the account, else the participant) and whether
        a moderator; refused unless the socket reads the room's content. Counts the
        message against the socket's rate."""
        if self.boards is None:
            raise DomainError("board.not_found", "whiteboards are not available here")
        if not self._reads_content(v):
            raise DomainError("conference.not_joined", "join the meeting to use its whiteboards")
        account = v.account
        p = v.participant
        role = v.room.role_for_account(account.id) if account is not None else None
        moderator = role is Role.MODERATOR
        if p is not None and p.entered and not moderator:
            live = self.conferences.participant(v.room.id, p.id)
            moderator = live is not None and live.role is Role.MODERATOR
        self._count(v)
        by = author_key(v.room.id, account.id) if account is not None else (p.id if p else "")
        return self.boards, by, moderator

    def _count(self, v: Visitor) -> None:
        now = asyncio.get_running_loop().time()
        sent = self._sent.setdefault(v, deque())
        while sent and sent[0] <= now - BOARD_WINDOW:
            sent.popleft()
        if len(sent) >= BOARD_BURST:
            retry = int(sent[0] + BOARD_WINDOW - now) + 1
            raise DomainError(
                "board.rate_limited", "too many whiteboard messages", retry_after=retry
            )
        sent.append(now)
