"""The browser gateway with scripted aiortc browsers: real ICE/DTLS/SRTP on loopback."""

from __future__ import annotations

from confero.domain.rooms import Room
from tests.phone.support import eventually
from tests.webrtc.support import Browser, Served


async def test_two_browsers_hear_each_other_and_not_themselves(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann, bob = Browser(served.ws_url(room)), Browser(served.ws_url(room))
    browsers += [ann, bob]
    hello = await ann.connect()
    assert hello["room"]["name"] == "Board" and hello["room"]["running"] is False
    await bob.connect()
    await ann.join("Ann")
    await bob.join("Bob")
    await ann.publish(tone_hz=600)
    await bob.publish(tone_hz=1000)
    await eventually(lambda: bob.heard.has_tone(600), 15)
    await eventually(lambda: ann.heard.has_tone(1000), 15)
    assert not ann.heard.has_tone(600), "mix-minus: Ann does not hear herself"
    assert not bob.heard.has_tone(1000)


async def test_a_failing_handler_answers_server_error_and_the_socket_lives_on(
    served: Served, room: Room, browsers: list[Browser], monkeypatch
) -> None:
    from confero.webrtc.session import BrowserMedia

    async def broken(self, sdp: str) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(BrowserMedia, "accept_offer", broken)
    ann = Browser(served.ws_url(room))
    browsers.append(ann)
    await ann.connect()
    await ann.join("Ann")
    await ann.send(type="offer", sdp="v=0", ref="o")
    error = await ann.expect("error", ref="o")
    assert error["code"] == "server.error" and "bug" not in error["detail"]
    await ann.send(type="ping", ref="p")
    await ann.expect("pong", ref="p")
    assert served.services.conferences.snapshot(room)["running"]
