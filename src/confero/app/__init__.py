"""Use cases: one ConferenceActor per live conference, services for accounts, rooms and
reservations, and the ports (Protocols) the adapters implement."""
