// The admin's dashboard shows a moderator the stage, with its video: received over the
// live socket as the moderator's own attendee (moderating, so not audience), with the
// sound off until they ask for it.

import { LiveSocket } from './live.js';
import { routeSignal } from './mesh.js';
import { StageMedia, StageReceiver } from './stage.js';
import { applyEvent, fromSnapshot } from './state.js';
import { bound, renderStage } from './ui.js';

const root = document.getElementById('dash-stage-video');
const tiles = bound(root, 'stage');
const sound = bound(root, 'stage-sound');
const stageMedia = new StageMedia(tiles);
const IDLE = bound(root, 'stage-idle').textContent;
let state = null;
let receiver = null;

function render({ reconnect = [] } = {}) {
  renderStage(tiles, state);
  stageMedia.sync();
  const idle = bound(root, 'stage-idle');
  const current = state.broadcast.state;
  idle.hidden = current === 'live';
  if (current === 'paused') idle.textContent = 'Paused: nothing is sent until the broadcast resumes.';
  else idle.textContent = IDLE;
  receiver = receiver || new StageReceiver(socket, stageMedia, state.media);
  receiver.follow(state, { reconnect });
}

stageMedia.onSoundChange = () => {
  sound.textContent = stageMedia.isMuted() ? 'Unmute' : 'Mute';
};
stageMedia.setMuted(true);
sound.addEventListener('click', () => stageMedia.setMuted(!stageMedia.isMuted()));

const socket = new LiveSocket(root.dataset.livePath, {
  onSnapshot(snapshot) {
    state = fromSnapshot(snapshot);
    render();
  },
  onEvent(event) {
    if (!state) return;
    if (event.type === 'rtc.signal') {
      routeSignal(event, receiver?.mesh, null);
      return;
    }
    if (event.type === 'media.ready') {
      render({ reconnect: [event.attendee.id] });
      return;
    }
    if (applyEvent(state, event)) render();
  },
});

window.addEventListener('pagehide', () => receiver?.mesh.leave());
socket.connect();
