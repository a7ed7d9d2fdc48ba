"""The invitation SMS and its HTTP gateway, against a real HTTP server (F-RS6)."""

from __future__ import annotations

import socket

import pytest

from confero.app.ports import DeliveryError
from confero.domain.notices import Kind
from confero.notify.sms import MAX_LENGTH, HttpSmsGateway, sms_text
from tests.notify.factory import ADMIN_PIN, ORGANIZER_EMAIL, invitation
from tests.notify.sms_gateway import SmsSink, sms_sink

__all__ = ["sms_sink"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "You are invited to a teleconference. On 10.11 at 15:36 call 223500908 and enter "
            "conference number 123456 and PIN 654321.",
        ),
        (
            "pl",
            "Zostałeś zaproszony na telekonferencję. W dniu 10.11 o godz. 15:36 zadzwoń na "
            "numer 223500908 i podaj nr konferencji: 123456 oraz PIN: 654321.",
        ),
        (
            "de",
            "Sie sind zu einer Telefonkonferenz eingeladen. Rufen Sie am 10.11 um 15:36 Uhr "
            "223500908 an und geben Sie die Konferenznummer 123456 und die PIN 654321 ein.",
        ),
        (
            "nl",
            "U bent uitgenodigd voor een teleconferentie. Bel op 10.11 om 15:36 naar "
            "223500908 en voer conferentienummer 123456 en pincode 654321 in.",
        ),
        ("xx", "You are invited to a teleconference. On 10.11 at 15:36 call 223500908"),
    ],
)
def test_invitation_text_in_the_rooms_language_and_local_time(language, expected):
    text = sms_text(invitation(language=language))
    assert text.startswith(expected)


@pytest.mark.parametrize("language", ["en", "nl", "de", "pl"])
@pytest.mark.parametrize("kind", list(Kind))
def test_every_text_is_short_and_free_of_moderator_data(language, kind):
    long_link = "https://conference.example-company.internal/join/" + "x" * 43
    for dial_in in ("+48 22 350 09 08", ""):
        text = sms_text(
            invitation(kind=kind, language=language, dial_in_number=dial_in, join_url=long_link)
        )
        assert len(text) <= MAX_LENGTH, (len(text), text)
        assert ADMIN_PIN not in text
        assert ORGANIZER_EMAIL not in text and "@" not in text
        assert "10.11" in text and "15:36" in text
        if kind is not Kind.CANCEL:
            assert "123456" in text and "654321" in text
            assert (dial_in or long_link) in text


def test_time_zone_moves_the_date_too():
    text = sms_text(invitation(language="en", time_zone="Asia/Tokyo"))
    assert "On 10.11 at 23:36" in text
    text = sms_text(invitation(language="en", time_zone="America/Los_Angeles"))
    assert "On 10.11 at 06:36" in text


def test_without_dial_in_number_the_link_is_given():
    text = sms_text(invitation(language="en", dial_in_number=""))
    assert "call" not in text
    assert "join at https://confero.example/join/Tq8x2bY" in text


def test_variants_per_kind():
    def en(kind: Kind) -> str:
        return sms_text(invitation(kind=kind, language="en"))

    assert en(Kind.REMINDER).startswith("Reminder: your teleconference starts in 1 hour.")
    assert en(Kind.AT_START).startswith("You are invited to a teleconference that starts now.")
    assert en(Kind.UPDATE).startswith("Your teleconference has been moved. On 10.11 at 15:36")
    assert en(Kind.CANCEL) == "The teleconference on 10.11 at 15:36 has been cancelled."
    assert "654321" not in en(Kind.CANCEL)
    assert sms_text(invitation(kind=Kind.CANCEL)) == (
        "Telekonferencja w dniu 10.11 o godz. 15:36 została odwołana."
    )


async def test_gateway_delivers_with_token_and_sender(sms_sink):
    gateway = HttpSmsGateway(sms_sink.url, "s3cret-token", "Confero")
    await gateway.send("+48600100200", "Zostałeś zaproszony na telekonferencję.")
    (received,) = await sms_sink.wait_for(1)
    assert received == {
        "to": "+48600100200",
        "from": "Confero",
        "text": "Zostałeś zaproszony na telekonferencję.",
        "authorization": "Bearer s3cret-token",
    }


async def test_failing_gateway_is_a_transient_error(sms_sink):
    sms_sink.failing = True
    with pytest.raises(DeliveryError) as failed:
        await HttpSmsGateway(sms_sink.url, "t", "Confero").send("+48600100200", "hi")
    assert failed.value.permanent is False
    assert "503" in failed.value.detail
    assert sms_sink.received == []

    sms_sink.failing = False
    await HttpSmsGateway(sms_sink.url, "t", "Confero").send("+48600100200", "hi")
    assert len(await sms_sink.wait_for(1)) == 1


async def test_wrong_token_is_a_permanent_error():
    sink = SmsSink(token="right")
    sink.start()
    try:
        with pytest.raises(DeliveryError) as refused:
            await HttpSmsGateway(sink.url, "wrong", "Confero").send("+48600100200", "hi")
        assert refused.value.permanent is True
        assert "401" in refused.value.detail
        assert "wrong" not in refused.value.detail
        await HttpSmsGateway(sink.url, "right", "Confero").send("+48600100200", "hi")
        assert len(sink.received) == 1
    finally:
        sink.stop()


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (422, True), (429, False)])
async def test_refusals(sms_sink, status, permanent):
    sms_sink.status = status
    with pytest.raises(DeliveryError) as refused:
        await HttpSmsGateway(sms_sink.url, "t", "Confero").send("+48600100200", "hi")
    assert refused.value.permanent is permanent


async def test_gateway_down_is_a_transient_error():
    sink = SmsSink()
    sink.start()
    url = sink.url
    sink.stop()
    with pytest.raises(DeliveryError) as down:
        await HttpSmsGateway(url, "t", "Confero").send("+48600100200", "hi")
    assert down.value.permanent is False
    assert "unreachable" in down.value.detail


async def test_silent_gateway_is_a_transient_timeout():
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/sms"
        with pytest.raises(DeliveryError) as timed_out:
            await HttpSmsGateway(url, "t", "Confero", timeout=0.3).send("+48600100200", "hi")
    assert timed_out.value.permanent is False
    assert "timed out" in timed_out.value.detail


def test_settings_are_checked():
    with pytest.raises(ValueError):
        HttpSmsGateway("ftp://example.org/sms", "t", "Confero")
    with pytest.raises(ValueError):
        HttpSmsGateway("http://127.0.0.1/sms", "t", "Confero", timeout=0)
