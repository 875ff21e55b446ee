import { startCountdowns } from './countdown.js';
import { Engagement } from './engage.js';
import { LeadForm } from './leadform.js';
import { LiveSocket } from './live.js';
import { routeSignal } from './mesh.js';
import { PublishLock } from './publishlock.js';
import { makePublisher } from './sfu.js';
import { StageMedia, StageReceiver } from './stage.js';
import { applyEvent, applyReply, fromSnapshot, isRunning } from './state.js';
import { MediaReport, Studio } from './studio.js';
import { Tabs } from './tabs.js';
import {
  bound,
  localizeTimes,
  readSetting,
  renderCommon,
  renderConnection,
  renderPeople,
  sendCommand,
  showMediaProblem,
  writeSetting,
} from './ui.js';

const root = document.getElementById('broadcast');
const waiting = document.getElementById('waiting-overlay');
const paused = document.getElementById('paused-overlay');
const endScreen = document.getElementById('end-screen');
const speak = bound(root, 'speak');
// The request button is in the control bar, the boxes that follow it on the stage.
const part = (name) => root.querySelector(`[data-speak="${name}"]`);
const control = (name) => speak.querySelector(`[data-studio="${name}"]`);
const tabs = new Tabs(bound(root, 'tabs'));
const stageMedia = new StageMedia(bound(root, 'stage'));
const embedded = root.dataset.page === 'embed';
let state = null;
let receiver = null;
let engagement = null;
let firstSnapshot = true;
// While this viewer is on stage: their camera and microphone, and what sends them.
let studio = null;
let publisher = null;
let removedBecause = ''; // the server's reason, when it takes this page out

const running = () => isRunning(state);
const onStage = () => state.stage.some((a) => a.id === state.me.id);

function say(text) {
  bound(root, 'speak-note').textContent = text;
}

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
  renderSpeak();
  engagement.render(state);
  leadForm.render(state);
  widget?.render(state);
  renderPeople(root, state);
  tabs.track('questions', state.questions.length);
  tabs.track('info', state.broadcast.cta_pushed_at ? 1 : 0);
}

function renderSpeak() {
  const request = state.me.request;
  const speaking = onStage() && state.me.role === 'speaker';
  const pending = request?.state === 'pending';
  speak.hidden = !running() || state.me.role === 'host';
  part('raise').hidden = speak.hidden || speaking || Boolean(request);
  part('waiting').hidden = !(pending && !request.invited);
  part('invited').hidden = !(pending && request.invited);
  part('speaking').hidden = !speaking;
  bound(root, 'inviter').textContent = request?.invited_by || 'The host';
  bound(root, 'queue-position').textContent = pending && request.position ? `You are #${request.position}` : '';
  if (studio) {
    control('mic').setAttribute('aria-pressed', String(studio.micOn && Boolean(studio.audio)));
    control('camera').setAttribute('aria-pressed', String(studio.cameraOn && Boolean(studio.camera)));
  }
}

function syncMedia({ reconnect = [] } = {}) {
  receiver = receiver || new StageReceiver(socket, stageMedia, state.media);
  receiver.follow(state, { reconnect });
  syncSpeaking();
}

// One tab of this person sends (publishlock.js); another waits and may take over.
let publishing = null;
function publishLock() {
  publishing = publishing || new PublishLock(`primetime:publish:${root.dataset.livePath}:${state.me.id}`, {
    onGranted(takeover) {
      say('');
      syncSpeaking();
      // A page that takes over tells the others to connect to it.
      if (takeover && publisher?.announces) socket.send('media.ready').catch(() => {});
    },
    onWaiting() {
      say('You are on stage in another tab. This one takes over if you close that one.');
    },
  });
  return publishing;
}

// On stage: start the camera and send to everyone; off stage: stop both.
function syncSpeaking() {
  const speaking = running() && onStage() && state.me.role === 'speaker';
  if (speaking && !publishLock().held) {
    publishLock().claim();
    return;
  }
  if (speaking && !publisher) {
    publisher = makePublisher(socket, state.media, state.me.id);
    studio = new Studio({
      onTrack: (kind, track) => publisher?.setTrack(kind, track),
      onChange: () => {
        if (studio) stageMedia.attach(state.me.id, studio.preview, { local: true });
        if (studio?.ready) report.update(studio.sending);
        renderSpeak();
      },
      onError: (message) => showMediaProblem(root, message),
    });
    studio.start();
    say('');
  } else if (!speaking && publisher) {
    publisher.closeAll();
    studio.stop();
    publisher = null;
    studio = null;
    stageMedia.detach(state.me.id);
    bound(root, 'media-problem').hidden = true;
  }
  if (!speaking) publishing?.letGo();
  if (publisher) {
    publisher.useMedia(state.media);
    publisher.setSending(state.broadcast.state === 'live');
    publisher.follow(speaking);
  }
}

function command(type, fields = {}) {
  return sendCommand(socket, bound(root, 'speak-error'), type, fields);
}

part('raise').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  // A double click is one request: the second click waits for the first's answer.
  if (button.getAttribute('aria-disabled') === 'true') return;
  button.setAttribute('aria-disabled', 'true');
  let reply;
  try {
    reply = await command('hand.raise');
  } finally {
    button.removeAttribute('aria-disabled');
  }
  if (reply) {
    applyReply(state, { type: 'hand.raise' }, reply);
    say('');
    render();
    part('cancel').focus();
  }
});
part('cancel').addEventListener('click', async () => {
  const reply = await command('hand.cancel');
  if (reply) {
    applyReply(state, { type: 'hand.cancel' }, reply);
    render();
    part('raise').focus();
  }
});
part('accept').addEventListener('click', () => command('invitation.accept'));
part('refuse').addEventListener('click', async () => {
  const reply = await command('invitation.decline');
  if (reply) {
    applyReply(state, { type: 'invitation.decline' }, reply);
    say('You declined the invitation.');
    render();
  }
});
part('leave').addEventListener('click', () => command('stage.leave'));
control('mic').addEventListener('click', () => studio?.toggleMic());
control('camera').addEventListener('click', () => studio?.toggleCamera());
control('retry').addEventListener('click', () => studio?.start());

// The widget names its guest with a signed token. A third-party iframe may be denied
// cookies and storage, so the page around it (embed.js) keeps the token too and hands
// it back in the iframe's address fragment.
function widgetParams() {
  if (!embedded || root.dataset.signedIn === 'true') return {};
  const key = 'primetime:guest';
  const fromPage = new URLSearchParams(location.hash.slice(1)).get('guest');
  // Storage may be blocked in this third-party frame: then the page around keeps it.
  const stored = readSetting(key);
  const token = root.dataset.knownGuest || stored || fromPage || root.dataset.newGuest;
  writeSetting(key, token);
  if (token !== fromPage) {
    const parentOrigin = location.ancestorOrigins?.[0] || '*';
    window.parent?.postMessage({ type: 'primetime:guest', token }, parentOrigin);
  }
  return { guest: token };
}

const socket = new LiveSocket(root.dataset.livePath, {
  params: widgetParams(),
  onSnapshot(snapshot) {
    state = fromSnapshot(snapshot);
    report.reset();
    render();
    syncMedia();
    if (studio?.ready) report.update(studio.sending);
    // A speaker whose page reloads: tell the others to connect to this page again.
    if (firstSnapshot && publisher?.announces) socket.send('media.ready').catch(() => {});
    firstSnapshot = false;
  },
  onEvent(event) {
    if (!state) return;
    if (event.type === 'rtc.signal') {
      routeSignal(event, receiver?.mesh, publisher);
      return;
    }
    if (event.type === 'media.ready') {
      syncMedia({ reconnect: [event.attendee.id] });
      return;
    }
    if (event.type === 'removed') {
      // The socket closes next and does not come back: stop every stream now.
      removedBecause = event.message;
      receiver?.mesh.leave();
      publisher?.closeAll();
      studio?.stop();
      stageMedia.clear();
      return;
    }
    const wasSpeaking = state.me.role === 'speaker';
    if (!applyEvent(state, event)) return;
    if (event.type === 'hand.declined') say('The host declined your request to speak.');
    widget?.notice(event, state);
    leadForm.notice(event);
    if (event.type === 'stage.invited') say('');
    if (wasSpeaking && state.me.role !== 'speaker') say('Your call has ended. You are back in the audience.');
    render();
    if (['broadcast.state', 'stage.changed'].includes(event.type)) syncMedia();
  },
  onStatus(status) {
    renderConnection(root, status, removedBecause);
  },
});

engagement = new Engagement(root, { socket, stageMedia, source: embedded ? 'embed' : 'watch' });
const leadForm = new LeadForm(root, socket);
const widget = embedded ? new (await import('./widget.js')).Widget(document.body, socket) : null;

window.addEventListener('pagehide', () => receiver?.mesh.leave());
localizeTimes();
startCountdowns(root);
const report = new MediaReport(socket);
socket.connect();
