// The Janus media backend, publishing side: a stage member sends one stream, to the
// SFU, whatever the audience. Signalling goes over the live socket as on mesh: the
// offer, our candidates and `bye` are addressed to ourselves (our own feed), and the
// server answers for Janus. Viewers receive with the mesh module's MeshReceiver: to
// them, the SFU's offer looks like the stage member's own.

import { MeshPublisher, TrackSender, newPeerId } from './mesh.js';

// Three simulcast layers; a viewer on a small screen or a poor link takes a lower one.
const LAYERS = [
  { rid: 'h', maxBitrate: 1_200_000 },
  { rid: 'm', maxBitrate: 400_000, scaleResolutionDownBy: 2 },
  { rid: 'l', maxBitrate: 150_000, scaleResolutionDownBy: 4 },
];
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

export class SfuPublisher extends TrackSender {
  // onPeersChange(count) as on mesh: 1 while the stream reaches the SFU, else 0.
  // onState('connecting' | 'connected' | 'reconnecting') for the console's own status.
  constructor(socket, media, { selfId, onPeersChange = () => {}, onState = () => {} }) {
    super(media);
    this.announces = false; // the server tells viewers once Janus has our stream
    this.socket = socket;
    this.selfId = selfId;
    this.onPeersChange = onPeersChange;
    this.onState = onState;
    this.running = false;
    this.peer = null; // { pc, pcId, senders }
    this.attempt = 0;
    this.timer = null;
  }

  senderSets() {
    return this.peer ? [this.peer.senders] : [];
  }

  // Publish while the broadcast runs (live or paused).
  follow(running) {
    this.running = running;
    if (running && !this.peer && !this.timer) this.publish();
    if (!running) this.closeAll();
  }

  signal(data) {
    return this.socket.send('rtc.signal', { to: this.selfId, data });
  }

  publish() {
    this.timer = null;
    this.drop({ quiet: true });
    const pcId = newPeerId();
    const pc = new RTCPeerConnection(this.rtcConfig);
    const senders = {};
    senders.audio = pc.addTransceiver('audio', { direction: 'sendonly', streams: [this.stream] }).sender;
    senders.video = pc.addTransceiver('video', {
      direction: 'sendonly',
      streams: [this.stream],
      sendEncodings: LAYERS,
    }).sender;
    const peer = { pc, pcId, senders };
    this.peer = peer;
    this.onState(this.attempt ? 'reconnecting' : 'connecting');
    pc.onicecandidate = (event) => {
      if (this.peer !== peer) return;
      this.signal({ kind: 'candidate', pc: pcId, candidate: event.candidate ? event.candidate.toJSON() : null }).catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (this.peer !== peer) return;
      if (pc.connectionState === 'connected') {
        this.attempt = 0;
        this.onState('connected');
      } else if (pc.connectionState === 'failed') {
        this.retry();
      }
      this.onPeersChange(this.connectedCount());
    };
    (async () => {
      for (const [kind, sender] of Object.entries(senders)) await sender.replaceTrack(this.outgoing(kind));
      await pc.setLocalDescription(await pc.createOffer());
      await this.signal({ kind: 'offer', pc: pcId, sdp: pc.localDescription.sdp });
    })().catch((error) => {
      if (this.peer === peer) this.retry(error);
    });
  }

  retry() {
    if (!this.running) return;
    this.drop({ quiet: true });
    this.onState('reconnecting');
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.publish(), delay);
  }

  handleSignal(from, data) {
    const peer = this.peer;
    if (from !== this.selfId || !peer || data.pc !== peer.pcId) return;
    if (data.kind === 'answer') {
      peer.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp }).catch(() => this.retry());
    } else if (data.kind === 'candidate') {
      peer.pc.addIceCandidate(data.candidate || null).catch(() => {});
    } else if (data.kind === 'bye') {
      // Janus dropped our stream (it restarted, or we were taken off stage).
      this.retry();
    }
  }

  connectedCount() {
    return this.peer && this.peer.pc.connectionState === 'connected' ? 1 : 0;
  }

  drop({ quiet = false } = {}) {
    const peer = this.peer;
    if (!peer) return;
    this.peer = null;
    if (!quiet) this.signal({ kind: 'bye', pc: peer.pcId }).catch(() => {});
    peer.pc.close();
    this.onPeersChange(0);
  }

  closeAll() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
    this.drop();
  }
}

// The publisher for this page's media backend.
export function makePublisher(socket, media, selfId, options = {}) {
  if (media.backend === 'janus') return new SfuPublisher(socket, media, { selfId, ...options });
  return new MeshPublisher(socket, media, options);
}
