"""The ``confero`` command: serve, migrate, and manage accounts, rooms and reservations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from confero.app.services import Services
from confero.config import Settings
from confero.domain.errors import DomainError

T = TypeVar("T")

app = typer.Typer(help="Confero conferencing server.", no_args_is_help=True)
db_app = typer.Typer(help="Database.", no_args_is_help=True)
admin_app = typer.Typer(help="Administrator accounts.", no_args_is_help=True)
room_app = typer.Typer(help="Rooms.", no_args_is_help=True)
reservation_app = typer.Typer(help="Reservations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(room_app, name="room")
app.add_typer(reservation_app, name="reservation")

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    from confero.app.placement import LocalPlacement
    from confero.server import build

    async def main() -> T:
        # An administration command is not a node of a cluster (issue 16): were it to
        # announce itself under the node's id, its exit would take the live node's entry
        # out of the registry, and its rooms with it, until the next heartbeat.
        services = await build(Settings(), placement=LocalPlacement())
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        err.print(f"[red]error[/red] {exc.code}: {exc.detail}")
        raise typer.Exit(code=1) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="HTTP address")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port")] = None,
) -> None:
    """Migrate the database and run the server."""
    from confero.server import run

    overrides: dict[str, object] = {}
    if host:
        overrides["http_host"] = host
    if port is not None:
        overrides["http_port"] = port
    run(Settings(**overrides))  # type: ignore[arg-type]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (the server does this at start too)."""

    async def work(services: Services) -> None:
        return None

    _with_services(work)
    console.print("database is up to date")


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="email address")],
    password: Annotated[
        str, typer.Option(help="at least 8 characters", prompt=True, hide_input=True)
    ],
) -> None:
    """Create an administrator account."""

    async def work(services: Services) -> str:
        account = await services.accounts.create(email, password, is_admin=True)
        return account.email

    console.print(f"created administrator {_with_services(work)}")


@room_app.command("create")
def room_create(
    owner: Annotated[str, typer.Option(help="owner's email")],
    name: Annotated[str, typer.Option(help="room name")],
    capacity: Annotated[int | None, typer.Option(help="maximum participants")] = None,
    language: Annotated[str, typer.Option(help="en, nl, de or pl")] = "en",
) -> None:
    """Create a permanent room and print its access data."""

    async def work(services: Services) -> None:
        account = await services.accounts.by_email(owner)
        if account is None:
            raise DomainError("account.not_found", f"no account {owner}")
        room = await services.rooms.create(account, name, capacity=capacity, language=language)
        console.print(
            f"room {room.id}: '{room.name}' number {room.conference_number} "
            f"PIN {room.pin} admin PIN {room.admin_pin}"
        )

    _with_services(work)


@room_app.command("list")
def room_list(owner: Annotated[str, typer.Option(help="owner's or member's email")]) -> None:
    """List the rooms of an account."""

    async def work(services: Services) -> None:
        account = await services.accounts.by_email(owner)
        if account is None:
            raise DomainError("account.not_found", f"no account {owner}")
        table = Table("id", "name", "number", "capacity", "language", "locked", "booked")
        for r in await services.rooms.list(account):
            table.add_row(
                r.id,
                r.name,
                r.conference_number,
                str(r.capacity),
                r.language.value,
                str(r.locked),
                str(r.booked),
            )
        console.print(table)

    _with_services(work)


@reservation_app.command("list")
def reservation_list(
    owner: Annotated[str, typer.Option(help="the booking account's email")],
) -> None:
    """List an account's reservations (finished ones stay for an hour)."""

    async def work(services: Services) -> None:
        account = await services.accounts.by_email(owner)
        if account is None:
            raise DomainError("account.not_found", f"no account {owner}")
        table = Table("id", "room", "start", "end", "status", "title")
        now = services.clock.now()
        for r in await services.reservations.list(account):
            table.add_row(
                r.id,
                r.room_id,
                r.start.isoformat(),
                r.end.isoformat(),
                r.join_state(now).value,
                r.title,
            )
        console.print(table)

    _with_services(work)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
