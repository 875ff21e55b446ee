// The mesh media backend: every stage member sends to every viewer over its own
// RTCPeerConnection. Offers, answers and ICE candidates travel as `rtc.signal` on the
// live socket. The viewer asks (`request`), the stage member offers, the viewer answers.

const RETRY_LIMIT = 4;
const PEERS_PER_VIEWER = 3; // a viewer may have a few tabs open; not more

// Which simulcast layer suits this device (on an SFU; a mesh sender ignores it): the
// lowest on a slow or data-saving link, the middle one on a phone-sized screen.
export function wantedLayer() {
  const link = navigator.connection;
  if (link && (link.saveData || ['slow-2g', '2g', '3g'].includes(link.effectiveType))) return 0;
  return Math.min(screen.width, window.innerWidth) < 640 ? 1 : 2;
}

// How this page's peer connections reach others, from the snapshot's media: its ICE
// servers (TURN credentials are per person and expire, so each snapshot brings fresh
// ones) and whether only TURN relays are used.
export function rtcConfiguration(media) {
  return { iceServers: media.ice_servers, iceTransportPolicy: media.ice_transport_policy };
}

export function newPeerId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Signals of one peer connection are handled one after another: an ICE candidate must
// not overtake the offer or answer it belongs to.
class SignalQueue {
  constructor() {
    this.tail = Promise.resolve();
  }

  run(task) {
    this.tail = this.tail.then(task).catch((error) => console.warn('rtc signal', error));
    return this.tail;
  }
}

// What a publisher (mesh or SFU) sends on each of its peer connections: the current
// tracks while live, nothing while paused. replaceTrack(null) stops RTP altogether,
// unlike a disabled track (black frames), and the connections stay up for resume.
export class TrackSender {
  constructor(media) {
    this.useMedia(media);
    this.tracks = { audio: null, video: null };
    this.stream = new MediaStream(); // groups audio and video on the receiving side
    this.sending = false;
  }

  // New connections use the newest snapshot's configuration.
  useMedia(media) {
    this.rtcConfig = rtcConfiguration(media);
  }

  outgoing(kind) {
    return this.sending ? this.tracks[kind] : null;
  }

  setTrack(kind, track) {
    this.tracks[kind] = track;
    this.refreshSenders();
  }

  setSending(sending) {
    this.sending = sending;
    this.refreshSenders();
  }

  // Each open peer connection's senders, by kind; the subclass knows its connections.
  senderSets() {
    return [];
  }

  refreshSenders() {
    for (const senders of this.senderSets()) {
      for (const [kind, sender] of Object.entries(senders)) {
        sender.replaceTrack(this.outgoing(kind)).catch(() => {});
      }
    }
  }
}

export class MeshPublisher extends TrackSender {
  constructor(socket, media, { onPeersChange = () => {} } = {}) {
    super(media);
    this.socket = socket;
    this.onPeersChange = onPeersChange;
    this.peers = new Map(); // pc id -> { pc, to, senders, queue }
    // After a reload, the page tells viewers to connect to it again (media.ready); on
    // an SFU the server does, once Janus has the stream.
    this.announces = true;
  }

  // A mesh publisher waits for viewers' requests: nothing to start or stop.
  follow() {}

  senderSets() {
    return [...this.peers.values()].map((peer) => peer.senders);
  }

  signal(to, data) {
    this.socket.send('rtc.signal', { to, data }).catch(() => {});
  }

  handleSignal(from, data) {
    if (data.kind === 'request') {
      this.offer(from, data.pc);
      return;
    }
    const peer = this.peers.get(data.pc);
    if (!peer || peer.to !== from) return;
    peer.queue.run(async () => {
      if (data.kind === 'answer') {
        await peer.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
      } else if (data.kind === 'candidate') {
        await peer.pc.addIceCandidate(data.candidate || null);
      } else if (data.kind === 'bye') {
        this.drop(data.pc);
      }
    });
  }

  offer(to, pcId) {
    this.drop(pcId);
    const mine = [...this.peers.entries()].filter(([, peer]) => peer.to === to);
    if (mine.length >= PEERS_PER_VIEWER) this.drop(mine[0][0]);

    const pc = new RTCPeerConnection(this.rtcConfig);
    const senders = {};
    for (const kind of ['audio', 'video']) {
      const transceiver = pc.addTransceiver(kind, { direction: 'sendonly', streams: [this.stream] });
      senders[kind] = transceiver.sender;
    }
    const peer = { pc, to, senders, queue: new SignalQueue() };
    this.peers.set(pcId, peer);
    pc.onicecandidate = (event) => {
      this.signal(to, { kind: 'candidate', pc: pcId, candidate: event.candidate ? event.candidate.toJSON() : null });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') this.drop(pcId);
      this.onPeersChange(this.connectedCount());
    };
    peer.queue.run(async () => {
      for (const [kind, sender] of Object.entries(senders)) await sender.replaceTrack(this.outgoing(kind));
      await pc.setLocalDescription(await pc.createOffer());
      this.signal(to, { kind: 'offer', pc: pcId, sdp: pc.localDescription.sdp });
    });
    this.onPeersChange(this.connectedCount());
  }

  connectedCount() {
    return [...this.peers.values()].filter((peer) => peer.pc.connectionState === 'connected').length;
  }

  drop(pcId) {
    const peer = this.peers.get(pcId);
    if (!peer) return;
    this.peers.delete(pcId);
    peer.pc.close();
    this.onPeersChange(this.connectedCount());
  }

  closeAll() {
    for (const pcId of [...this.peers.keys()]) this.drop(pcId);
  }
}

export class MeshReceiver {
  // onStream(publisherId, stream) gives a publisher's media; onState(publisherId, state,
  // message) reports 'connecting', 'connected', 'retrying', 'failed' or 'full'.
  constructor(socket, media, { onStream, onState }) {
    this.socket = socket;
    this.useMedia(media);
    this.onStream = onStream;
    this.onState = onState;
    this.peers = new Map(); // publisher attendee id -> peer
  }

  useMedia(media) {
    this.rtcConfig = rtcConfiguration(media);
    this.offerTimeoutMs = media.offer_timeout_ms;
  }

  has(publisherId) {
    const peer = this.peers.get(publisherId);
    return Boolean(peer) && !['failed', 'closed'].includes(peer.pc.connectionState);
  }

  connect(publisherId, { attempt = 0, quiet = false } = {}) {
    this.close(publisherId);
    const pcId = newPeerId();
    const pc = new RTCPeerConnection(this.rtcConfig);
    const peer = { pc, pcId, attempt, queue: new SignalQueue(), timer: null };
    this.peers.set(publisherId, peer);
    pc.ontrack = (event) => this.onStream(publisherId, event.streams[0] || new MediaStream([event.track]));
    pc.onicecandidate = (event) => {
      this.signal(publisherId, { kind: 'candidate', pc: pcId, candidate: event.candidate ? event.candidate.toJSON() : null });
    };
    pc.onconnectionstatechange = () => {
      if (this.peers.get(publisherId) !== peer) return;
      if (pc.connectionState === 'connected') {
        peer.attempt = 0;
        this.onState(publisherId, 'connected');
      } else if (pc.connectionState === 'failed') {
        this.retry(publisherId, peer);
      }
    };
    if (!quiet) this.onState(publisherId, attempt ? 'retrying' : 'connecting');
    peer.timer = setTimeout(() => this.retry(publisherId, peer), this.offerTimeoutMs);
    this.socket
      .send('rtc.signal', { to: publisherId, data: { kind: 'request', pc: pcId, layer: wantedLayer() } })
      .catch((error) => {
        if (this.peers.get(publisherId) !== peer) return;
        clearTimeout(peer.timer);
        if (error.code === 'conflict') {
          // No room in a mesh session (or not live): say so, and ask again later.
          this.onState(publisherId, 'full', error.message);
          peer.timer = setTimeout(() => this.connect(publisherId, { quiet: true }), 15000);
        } else {
          this.retry(publisherId, peer);
        }
      });
  }

  retry(publisherId, peer) {
    if (this.peers.get(publisherId) !== peer) return;
    clearTimeout(peer.timer);
    const attempt = peer.attempt + 1;
    if (attempt > RETRY_LIMIT) {
      this.close(publisherId);
      this.onState(publisherId, 'failed', 'We could not connect to the video. Check your network and reload the page.');
      return;
    }
    this.onState(publisherId, 'retrying');
    // Back off in steps of an eighth of the offer timeout (1 s by default): a session
    // configured for slower answers waits longer between tries too.
    const step = this.offerTimeoutMs / 8;
    peer.timer = setTimeout(() => this.connect(publisherId, { attempt }), step * 2 ** (attempt - 1));
  }

  signal(to, data) {
    this.socket.send('rtc.signal', { to, data }).catch(() => {});
  }

  handleSignal(from, data) {
    const peer = this.peers.get(from);
    if (!peer || peer.pcId !== data.pc) return;
    peer.queue.run(async () => {
      if (data.kind === 'offer') {
        clearTimeout(peer.timer);
        await peer.pc.setRemoteDescription({ type: 'offer', sdp: data.sdp });
        await peer.pc.setLocalDescription(await peer.pc.createAnswer());
        this.signal(from, { kind: 'answer', pc: peer.pcId, sdp: peer.pc.localDescription.sdp });
      } else if (data.kind === 'candidate') {
        await peer.pc.addIceCandidate(data.candidate || null);
      } else if (data.kind === 'bye') {
        this.retry(from, peer);
      }
    });
  }

  close(publisherId, { tell = true } = {}) {
    const peer = this.peers.get(publisherId);
    if (!peer) return;
    this.peers.delete(publisherId);
    clearTimeout(peer.timer);
    // The sender (or the SFU's handle for this connection) lets go at once.
    if (tell && peer.pc.connectionState !== 'closed') this.signal(publisherId, { kind: 'bye', pc: peer.pcId });
    peer.pc.close();
  }

  closeAll() {
    for (const publisherId of [...this.peers.keys()]) this.close(publisherId);
  }

  // Leaving the page: tell each sender, so it stops uploading to us at once instead
  // of noticing a dead connection half a minute later.
  leave() {
    this.closeAll();
  }
}

// A stage member both sends (publisher) and receives (receiver). A signal belongs to
// the receiver when it is about one of the peer connections the receiver opened.
export function routeSignal(event, receiver, publisher) {
  const mine = receiver?.peers.get(event.from);
  if (mine && mine.pcId === event.data.pc) receiver.handleSignal(event.from, event.data);
  else if (publisher) publisher.handleSignal(event.from, event.data);
}
