"""The invitation SMS and the HTTP gateway adapter that sends it (F-RS6; ``SmsGateway``).

The text is what a phone user needs to join: the local date and time, the number to call,
the conference number and the participant PIN (the browser link when no dial-in number
is configured). It never carries moderator data: no organizer address, no admin PIN.
It stays within two SMS segments (``MAX_LENGTH``).

The gateway takes ``POST <url>`` with JSON ``{"to", "from", "text"}`` and a bearer
token. A 2xx answer means accepted; 5xx, 408, 429, a timeout or no connection are worth
another try later; any other 4xx (bad number, bad token) is not.
"""

from __future__ import annotations

import httpx

from confero.app.ports import DeliveryError
from confero.domain.notices import Invitation, Kind
from confero.notify import texts

#: Two concatenated SMS segments of 160 GSM-7 characters.
MAX_LENGTH = 320
_RETRYABLE_4XX = {408, 425, 429}


def sms_text(invitation: Invitation) -> str:
    """The SMS of ``invitation`` in its language, with the time local to its time zone."""
    words = texts.catalog(invitation.language)
    start = texts.local(invitation, invitation.start)
    fields = {"date": f"{start:%d.%m}", "time": f"{start:%H:%M}"}
    lead = words.sms_leads[invitation.kind].format(**fields)
    if invitation.kind is Kind.CANCEL:
        return lead
    if invitation.dial_in_number:
        action = words.sms_call.format(
            number=invitation.dial_in_number,
            conference=invitation.conference_number,
            pin=invitation.pin,
            **fields,
        )
    else:
        action = words.sms_link.format(
            link=invitation.join_url,
            conference=invitation.conference_number,
            pin=invitation.pin,
            **fields,
        )
    return f"{lead} {action}"


class HttpSmsGateway:
    """The ``SmsGateway`` port over a JSON HTTP API."""

    def __init__(self, url: str, token: str, sender: str, timeout: float = 10.0) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"SMS gateway URL must be http(s): {url!r}")
        if timeout <= 0:
            raise ValueError("SMS gateway timeout must be positive")
        self.url = url
        self.sender = sender
        self._token = token
        self._timeout = timeout

    async def send(self, to: str, text: str) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        body = {"to": to, "from": self.sender, "text": text}
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self.url, json=body, headers=headers)
        except httpx.TimeoutException as error:
            raise DeliveryError("SMS gateway timed out") from error
        except Exception as error:
            raise DeliveryError(f"SMS gateway unreachable: {error}") from error
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = f"SMS gateway answered {status}: {response.text[:200]}".strip()
        permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
        raise DeliveryError(detail, permanent=permanent)
