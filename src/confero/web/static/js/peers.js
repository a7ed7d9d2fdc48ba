// The peer connections of docs/SIGNALING.md "Media".
//
// Publish: ONE connection, three transceivers in this order and never renegotiated:
//   0 audio sendrecv  (microphone out; the room's mix-minus comes back on it)
//   1 video sendonly  (camera; replaceTrack(null) when off)
//   2 video sendonly  (screen share; no track until sharing starts)
// Subscribe: one receive-only connection per `subscribe` message (the server offers).
// No trickle ICE: an SDP leaves only when gathering is complete.

const GATHER_TIMEOUT_MS = 5000;

/** Resolve when ICE gathering is complete (or after a timeout, with what is there). */
export function gatheringComplete(pc, timeoutMs = GATHER_TIMEOUT_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    }, timeoutMs);
    pc.addEventListener('icegatheringstatechange', done);
  });
}

export class Publisher {
  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers
   * @param {(track: MediaStreamTrack) => void} options.onAudio the room's mix arrived
   * @param {(state: string) => void} options.onState connection state changes
   */
  constructor({ iceServers = [], onAudio, onState }) {
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
    this.stream = new MediaStream();
    this.onAudio = onAudio;
    this.pc.addEventListener('track', (event) => {
      if (event.track.kind === 'audio') this.onAudio(event.track);
    });
    this.pc.addEventListener('connectionstatechange', () => onState?.(this.pc.connectionState));
    this.audio = null;
    this.camera = null;
    this.screen = null;
  }

  /** Build the three transceivers and the offer SDP (after gathering completes). */
  async offer({ mic, camera }) {
    this.audio = this.pc.addTransceiver(mic || 'audio', { direction: 'sendrecv', streams: [this.stream] });
    this.camera = this.pc.addTransceiver(camera || 'video', { direction: 'sendonly', streams: [this.stream] });
    this.screen = this.pc.addTransceiver('video', { direction: 'sendonly' });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await gatheringComplete(this.pc);
    return this.pc.localDescription.sdp;
  }

  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  get answered() {
    return this.pc.remoteDescription !== null;
  }

  replaceMic(track) {
    return this.audio?.sender.replaceTrack(track || null);
  }

  replaceCamera(track) {
    return this.camera?.sender.replaceTrack(track || null);
  }

  replaceScreen(track) {
    return this.screen?.sender.replaceTrack(track || null);
  }

  close() {
    this.pc.close();
  }
}

export class Subscriptions {
  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers
   * @param {(sub: object, stream: MediaStream) => void} options.onStream video arrived
   * @param {(sub: object) => void} options.onClose a subscription ended
   * @param {(message: object) => boolean} options.send
   */
  constructor({ iceServers = [], onStream, onClose, send }) {
    this.iceServers = iceServers;
    this.onStream = onStream;
    this.onClose = onClose;
    this.send = send;
    /** stream_id -> RTCPeerConnection; one Map for the page's lifetime (window.confero). */
    this.pcs = new Map();
    /** stream_id -> {stream_id, participant_id, kind, stream} */
    this.info = new Map();
  }

  /** A `subscribe` message: answer the server's offer on a new receive-only connection. */
  async subscribe({ stream_id: streamId, participant_id: participantId, kind, sdp }) {
    this.unsubscribe(streamId);
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    const sub = { stream_id: streamId, participant_id: participantId, kind: kind || 'camera', stream: null };
    this.pcs.set(streamId, pc);
    this.info.set(streamId, sub);
    pc.addEventListener('track', (event) => {
      if (this.pcs.get(streamId) !== pc) return;
      sub.stream = event.streams[0] || new MediaStream([event.track]);
      this.onStream(sub, sub.stream);
    });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    for (const transceiver of pc.getTransceivers()) {
      if (transceiver.direction !== 'inactive') transceiver.direction = 'recvonly';
    }
    await pc.setLocalDescription(await pc.createAnswer());
    await gatheringComplete(pc);
    if (this.pcs.get(streamId) !== pc) return; // unsubscribed meanwhile
    this.send({ type: 'subscribe_answer', stream_id: streamId, sdp: pc.localDescription.sdp });
  }

  unsubscribe(streamId) {
    const pc = this.pcs.get(streamId);
    if (!pc) return;
    const sub = this.info.get(streamId);
    this.pcs.delete(streamId);
    this.info.delete(streamId);
    pc.close();
    this.onClose(sub);
  }

  /** Every subscription of one participant (they left). */
  dropParticipant(participantId) {
    for (const [streamId, sub] of [...this.info]) {
      if (sub.participant_id === participantId) this.unsubscribe(streamId);
    }
  }

  closeAll() {
    for (const streamId of [...this.pcs.keys()]) this.unsubscribe(streamId);
  }

  /** The live video stream of a participant (camera or screen), if subscribed. */
  streamOf(participantId, kind) {
    for (const sub of this.info.values()) {
      if (sub.participant_id === participantId && sub.kind === kind && sub.stream) return sub.stream;
    }
    return null;
  }
}
