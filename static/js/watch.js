import { LiveSocket } from './live.js';
import { MeshReceiver } from './mesh.js';
import { StageMedia } from './stage.js';
import { applyEvent, fromSnapshot } from './state.js';
import { bound, localizeTimes, renderCommon, renderConnection } from './ui.js';

const root = document.getElementById('broadcast');
const waiting = document.getElementById('waiting-overlay');
const paused = document.getElementById('paused-overlay');
const endScreen = document.getElementById('end-screen');
const stageMedia = new StageMedia(bound(root, 'stage'), { unmuteButton: bound(root, 'unmute') });
let state = null;
let receiver = null;

function render() {
  renderCommon(root, state);
  stageMedia.sync();
  const current = state.broadcast.state;
  waiting.hidden = !(current === 'draft' || current === 'scheduled');
  paused.hidden = current !== 'paused';
  const ended = current === 'ended';
  if (ended && endScreen.hidden) {
    endScreen.hidden = false;
    endScreen.focus();
  }
  endScreen.hidden = !ended;
  document.body.dataset.state = current;
}

// Receive from everyone on stage while the broadcast runs; nothing otherwise.
function syncMedia({ reconnect = [] } = {}) {
  if (!receiver) {
    receiver = new MeshReceiver(socket, {
      iceServers: state.media.ice_servers,
      onStream: (id, stream) => stageMedia.attach(id, stream),
      onState: (id, mediaState, message) => stageMedia.setState(id, mediaState, message),
    });
  }
  const running = ['live', 'paused'].includes(state.broadcast.state);
  const wanted = running ? state.stage.map((a) => a.id).filter((id) => id !== state.me.id) : [];
  for (const id of [...receiver.peers.keys()]) {
    if (!wanted.includes(id)) {
      receiver.close(id);
      stageMedia.detach(id);
    }
  }
  for (const id of wanted) {
    if (reconnect.includes(id) || !receiver.has(id)) receiver.connect(id);
  }
}

const socket = new LiveSocket(root.dataset.livePath, {
  onSnapshot(snapshot) {
    state = fromSnapshot(snapshot);
    render();
    syncMedia();
  },
  onEvent(event) {
    if (!state) return;
    if (event.type === 'rtc.signal') {
      receiver?.handleSignal(event.from, event.data);
    } else if (event.type === 'media.ready') {
      syncMedia({ reconnect: [event.attendee.id] });
    } else if (applyEvent(state, event)) {
      render();
      if (event.type === 'broadcast.state' || event.type === 'stage.changed') syncMedia();
    }
  },
  onStatus(status) {
    renderConnection(root, status);
  },
});

localizeTimes();
socket.connect();
