"""Adapters that carry invitations out of the server: mail with a calendar entry (SMTP +
iCalendar) and SMS over an HTTP gateway (F-RS5, F-RS6). ``confero.server`` wires them to
the ``Mailer`` and ``SmsGateway`` ports."""
