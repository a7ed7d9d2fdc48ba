"""Media adapters: the audio path of a phone leg, from UDP datagram to mixer frame and back.

House rule 5 in modules, each usable and testable on its own (no I/O here):

* :mod:`~confero.media.rtp` - RTP packets, sender state, source filtering (RFC 3550)
* :mod:`~confero.media.rtcp` - receiver statistics and reports (RFC 3550 section 6)
* :mod:`~confero.media.jitter` - adaptive jitter buffer with simple loss concealment
* :mod:`~confero.media.g711` - PCMU/PCMA with numpy lookup tables (ITU-T G.711)
* :mod:`~confero.media.g722` - G.722 wideband ADPCM through PyAV (16 kHz audio)
* :mod:`~confero.media.phone_codecs` - the phone codecs (G.711, G.722, Opus) by SDP name
* :mod:`~confero.media.resample` - 8/16 kHz <-> 48 kHz mixer rate, stateful polyphase FIR
* :mod:`~confero.media.dtmf` - RFC 4733 telephone events and SIP INFO digits, kept out of
  the mix
* :mod:`~confero.media.tone` - test tones and frequency detection

A phone leg's receive path: ``RtpPacket.parse`` -> ``RtpReceiverFilter.check`` -> by
payload type either ``DtmfReceiver.feed`` (telephone-event) or ``JitterBuffer.put``;
per 20 ms tick ``JitterBuffer.pop`` (the leg's decoder) -> ``Resampler`` to 48 kHz ->
mixer. Send path: mixer frame -> ``Resampler`` to the codec's rate (8 or 16 kHz; Opus is
48 kHz) -> the codec's encoder -> ``RtpSender``.

Submodules are imported explicitly (``from confero.media.g711 import PCMU``); this package
re-exports nothing, so importing one part never pulls in the others.
"""
