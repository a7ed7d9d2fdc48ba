"""One transaction per unit of work: all of it commits, or none of it does."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from confero.app.ports import (
    AccountRepository,
    ActivityRepository,
    BoardRepository,
    ChatRepository,
    ContactRepository,
    FileRepository,
    MissedCallRepository,
    NoticeRepository,
    ReservationRepository,
    RoomContentRepository,
    RoomRepository,
    SmsOutboxRepository,
    TokenRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from confero.app.recorder_port import RecordingRepository
from confero.store.boards import SqlBoards
from confero.store.content import SqlRoomContent
from confero.store.files import SqlFiles
from confero.store.notices import SqlNotices
from confero.store.outbox import SqlSmsOutbox
from confero.store.people import SqlContacts, SqlMissedCalls
from confero.store.recordings import SqlRecordings
from confero.store.repositories import (
    SqlAccounts,
    SqlActivity,
    SqlChat,
    SqlReservations,
    SqlRooms,
    SqlTokens,
)


class SqlUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> UnitOfWork:
        session = self._session = self._sessions()
        self.accounts: AccountRepository = SqlAccounts(session)
        self.tokens: TokenRepository = SqlTokens(session)
        self.rooms: RoomRepository = SqlRooms(session)
        self.reservations: ReservationRepository = SqlReservations(session)
        self.chat: ChatRepository = SqlChat(session)
        self.activity: ActivityRepository = SqlActivity(session)
        self.notices: NoticeRepository = SqlNotices(session)
        self.sms_outbox: SmsOutboxRepository = SqlSmsOutbox(session)
        self.contacts: ContactRepository = SqlContacts(session)
        self.missed_calls: MissedCallRepository = SqlMissedCalls(session)
        self.files: FileRepository = SqlFiles(session)
        self.boards: BoardRepository = SqlBoards(session)
        self.content: RoomContentRepository = SqlRoomContent(session)
        self.recordings: RecordingRepository = SqlRecordings(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()


def make_uow_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return lambda: SqlUnitOfWork(sessions)
