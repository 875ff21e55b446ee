import { Alerts } from './alerts.js';
import { Engagement } from './engage.js';
import { LiveSocket } from './live.js';
import { routeSignal } from './mesh.js';
import { PublishLock } from './publishlock.js';
import { makePublisher } from './sfu.js';
import { StageMedia, StageReceiver } from './stage.js';
import { applyEvent, fromSnapshot, isRunning } from './state.js';
import { canShareScreen, MediaReport, Studio } from './studio.js';
import { Tabs } from './tabs.js';
import {
  bound,
  makeButton,
  personRow,
  plural,
  ratingText,
  renderCommon,
  renderConnection,
  renderPeople,
  replaceIfChanged,
  sendCommand,
  showMediaProblem,
} from './ui.js';

const root = document.getElementById('broadcast');
const buttons = [...root.querySelectorAll('button[data-action]')];
const errorBox = bound(root, 'error');
const control = (name) => root.querySelector(`[data-studio="${name}"]`);
const stageMedia = new StageMedia(bound(root, 'stage'));
let state = null;
let publisher = null;
let receiver = null; // the speakers' (and co-hosts') video
let announced = false;
let sendingTo = 0;
let sfuState = ''; // on an SFU: connecting, connected or reconnecting
let subscribers = null; // on an SFU: how many receive our stream, as Janus counts them
let removedBecause = ''; // the server's reason, when it takes this console out
// The title counts what waits: raised hands, and questions the host has not seen.
const tabs = new Tabs(bound(root, 'tabs'), { onChange: () => renderWaiting() });
const alerts = new Alerts(root.querySelector('[data-alerts="sound"]'));
function renderWaiting() {
  if (state) alerts.waiting(state.hands.length + tabs.unread('questions'));
}
const endDialog = document.getElementById('end-dialog');
const summary = document.getElementById('end-summary');

const HELP = {
  draft: 'Not announced yet. Check your camera and sound; going live opens the broadcast to the audience now.',
  scheduled: 'Check your camera and sound. Viewers in the waiting room see you as soon as you go live.',
  live: 'You are live.',
  paused: 'Viewers see the paused screen and receive no video or sound until you resume.',
  ended: 'This broadcast has ended. Camera and microphone are off.',
};

const running = () => state && isRunning(state);

const studio = new Studio({
  onTrack(kind, track) {
    if (publisher) publisher.setTrack(kind, track);
  },
  onChange: renderStudio,
  onError(message) {
    showMediaProblem(root, message);
  },
});

let report = null; // made with the socket
function renderStudio() {
  // The tab that sends says what it sends; a second tab that waits says nothing.
  if (report && studio.ready && publishing?.held && state?.broadcast.state !== 'ended') {
    report.update(studio.sending);
  }
  const mic = control('mic');
  mic.setAttribute('aria-pressed', String(studio.micOn && Boolean(studio.audio)));
  mic.disabled = !studio.audio;
  const camera = control('camera');
  camera.setAttribute('aria-pressed', String(studio.cameraOn && Boolean(studio.camera)));
  const screen = control('screen');
  screen.hidden = !canShareScreen() || state?.broadcast.state === 'ended';
  screen.setAttribute('aria-pressed', String(Boolean(studio.screen)));
  control('switch').hidden = !(studio.devices.videoinput.length > 1 || /Android|iPhone|iPad/i.test(navigator.userAgent));
  for (const kind of ['videoinput', 'audioinput']) {
    const select = control(kind);
    const current = studio.current(kind);
    const options = studio.devices[kind].map((device, index) => {
      const option = new Option(device.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${index + 1}`, device.deviceId);
      option.selected = device.deviceId === current;
      return option;
    });
    select.replaceChildren(...options);
    select.disabled = options.length === 0;
  }
  if (state) stageMedia.attach(state.me.id, studio.preview, { local: true });
}

const SFU_STATUS = {
  connecting: 'Connecting to the media server…',
  reconnecting: 'Video is reconnecting to the media server…',
};

function renderReach() {
  const reach = bound(root, 'media-reach');
  const media = state.media;
  if (otherTabSends) {
    reach.textContent = 'This console is open in another tab, which sends your camera. This one takes over if you close that one.';
    return;
  }
  if (media.backend === 'janus') {
    const relayed = subscribers === null ? '' : ` It relays it to ${plural(subscribers, 'subscriber')}.`;
    const sent = sfuState === 'connected'
      ? `Sending one stream to the media server.${relayed}`
      : SFU_STATUS[sfuState] || '';
    reach.textContent = running() ? sent : 'Media server (SFU): your browser sends one stream, whatever the audience.';
    return;
  }
  const limit = media.backend === 'mesh'
    ? `Mesh mode: your browser sends video to each viewer directly, up to ${plural(media.max_viewers, 'viewer')}.`
    : '';
  reach.textContent = running() ? `Sending video to ${plural(sendingTo, 'viewer')}. ${limit}` : limit;
}

function say(text) {
  bound(root, 'speak-note').textContent = text;
}

// The error box is above the lists: bring it into view when a row's button fails.
function command(type, fields = {}) {
  return sendCommand(socket, errorBox, type, fields, { scroll: true });
}

const person = (attendee, extra) => personRow(attendee, { size: 32, extra });

function actionButton(label, type, attendee, className = 'button') {
  const button = makeButton(label, { className });
  button.addEventListener('click', async () => {
    button.disabled = true;
    if (!(await command(type, { attendee: attendee.id }))) button.disabled = false;
  });
  return button;
}

// Requests first come, first served, the same order on every screen.
function renderHands() {
  const count = state.hands.length;
  replaceIfChanged(bound(root, 'hands'), JSON.stringify(state.hands.map((a) => [a.id, a.name])), () =>
    state.hands.map((attendee, index) => {
      const place = document.createElement('span');
      place.className = 'muted small';
      place.textContent = `#${index + 1}`;
      return person(attendee, [
        place,
        actionButton('Approve', 'hand.approve', attendee, 'button primary'),
        actionButton('Decline', 'hand.decline', attendee),
      ]);
    }),
  );
  bound(root, 'hands-count').textContent = count ? `(${count})` : '';
  tabs.count('requests', count, count === 1 ? 'request waiting' : 'requests waiting');
  bound(root, 'hands-empty').hidden = count > 0;
  root.querySelector('[data-action-all]').hidden = count < 2;
}

function renderSpeakers() {
  const speakers = state.stage.filter((a) => a.role === 'speaker');
  replaceIfChanged(bound(root, 'speakers'), JSON.stringify(speakers.map((a) => [a.id, a.name])), () =>
    speakers.map((attendee) => person(attendee, [actionButton('Remove from stage', 'stage.remove', attendee)])),
  );
  const count = speakers.length;
  bound(root, 'speakers-count').textContent = count ? `(${count} of ${state.broadcast.stage_size})` : '';
  bound(root, 'speakers-empty').hidden = count > 0;
}

async function invite(attendee) {
  if (await command('stage.invite', { attendee: attendee.id })) {
    say(`Invitation sent to ${attendee.name}. They join the stage when they accept.`);
  }
}

async function remove(attendee) {
  if (!window.confirm(`Remove ${attendee.name} from the broadcast? They cannot come back to it.`)) return;
  if (await command('attendee.remove', { attendee: attendee.id })) {
    say(`${attendee.name} was removed from the broadcast.`);
  }
}

function render() {
  renderCommon(root, state, { invite: running() ? invite : null, remove: state.broadcast.state === 'ended' ? null : remove });
  renderHands();
  renderSpeakers();
  stageMedia.sync();
  const current = state.broadcast.state;
  const offered = state.broadcast.actions; // the server's lifecycle table
  const focused = document.activeElement;
  for (const button of buttons) {
    button.hidden = !offered.includes(button.dataset.action);
    button.disabled = false;
  }
  // Keep keyboard focus on the controls when the button that had it disappears.
  if (focused && focused.hidden) {
    const next = buttons.find((button) => !button.hidden);
    if (next) next.focus();
  }
  bound(root, 'state-help').textContent = HELP[current];
  document.body.dataset.state = current;
  renderPeople(root, state, { invite: running() ? invite : null, remove: current === 'ended' ? null : remove });
  tabs.track('questions', state.questions.length);
  renderWaiting();
  if (current === 'ended') showSummary();
  bound(root, 'on-air').hidden = current !== 'live';
  renderReach();
  engagement.render(state);
  const pushCta = root.querySelector('[data-engage="push-cta"]');
  if (pushCta) pushCta.disabled = !running();
  root.querySelector('[data-engage="lead-prompt"]').disabled = !running();
}

// One console tab of this host sends (publishlock.js); another waits and may take over.
let otherTabSends = false;
let publishing = null;
function publishLock() {
  publishing = publishing || new PublishLock(`primetime:publish:${root.dataset.livePath}:${state.me.id}`, {
    onGranted(takeover) {
      otherTabSends = false;
      if (takeover) announced = false; // tell viewers to connect to this tab
      syncMedia();
      renderReach();
      renderStudio();
    },
    onWaiting() {
      otherTabSends = true;
      renderReach();
    },
  });
  return publishing;
}

function syncMedia({ reconnect = [] } = {}) {
  receiver = receiver || new StageReceiver(socket, stageMedia, state.media);
  receiver.follow(state, { reconnect });
  if (!publishLock().held) {
    if (state.broadcast.state === 'ended') {
      studio.stop();
      stageMedia.clear();
    } else {
      publishLock().claim();
    }
    return;
  }
  if (!publisher) {
    publisher = makePublisher(socket, state.media, state.me.id, {
      onPeersChange(count) {
        sendingTo = count;
        if (state) renderReach();
      },
      onState(mediaState) {
        sfuState = mediaState;
        if (mediaState !== 'connected') subscribers = null; // a new count follows
        if (state) renderReach();
      },
    });
    publisher.setTrack('audio', studio.audio);
    publisher.setTrack('video', studio.videoTrack);
  }
  const current = state.broadcast.state;
  publisher.useMedia(state.media);
  publisher.setSending(current === 'live');
  publisher.follow(running());
  if (current === 'ended') {
    publisher.closeAll();
    studio.stop();
    stageMedia.clear();
  }
  // After a reload, tell viewers this console sends again so they reconnect at once.
  if (!announced && running() && publisher.announces) {
    announced = true;
    socket.send('media.ready').catch(() => {});
  }
}

async function runAction(action) {
  for (const each of buttons) each.disabled = true;
  if (!(await sendCommand(socket, errorBox, action))) {
    for (const each of buttons) each.disabled = false;
  }
}

for (const button of buttons) {
  button.addEventListener('click', () => {
    // Ending is final: it asks first.
    if (button.dataset.confirm) endDialog.showModal();
    else runAction(button.dataset.action);
  });
}
endDialog.querySelector('[data-confirm-yes]').addEventListener('click', () => {
  endDialog.close();
  runAction('broadcast.end');
});
endDialog.querySelector('[data-confirm-no]').addEventListener('click', () => endDialog.close());

// After the show: the session in figures, from the server (leads included).
let summaryShown = false;
async function showSummary() {
  if (summaryShown) return;
  summaryShown = true;
  let figures;
  try {
    const response = await fetch(summary.dataset.url, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(response.statusText);
    figures = await response.json();
  } catch {
    summaryShown = false; // the next render tries again
    return;
  }
  const watchTime = (seconds) => (seconds < 60 ? plural(seconds, 'second') : plural(Math.round(seconds / 60), 'minute'));
  const rows = [
    ['Peak viewers', String(figures.peak_viewers)],
    ['Total viewers', String(figures.unique_viewers)],
    ['Average watch time', watchTime(figures.average_watch_seconds)],
    ['Likes', plural(figures.likes, 'like')],
    ['Rating', ratingText(figures.rating_average, figures.rating_count, 'No ratings')],
    ['Questions', plural(figures.questions_asked, 'question')],
    ['Leads', plural(figures.leads, 'lead')],
  ];
  bound(summary, 'summary').replaceChildren(...rows.map(([label, value]) => {
    const row = document.createElement('div');
    const term = document.createElement('dt');
    term.textContent = label;
    const detail = document.createElement('dd');
    detail.textContent = value;
    row.append(term, detail);
    return row;
  }));
  const analytics = summary.querySelector('[data-bind="analytics"]');
  analytics.hidden = !figures.analytics_url;
  if (figures.analytics_url) analytics.href = figures.analytics_url;
  summary.hidden = false;
}

root.querySelector('[data-action-all]').addEventListener('click', async () => {
  const result = await command('hand.lower_all');
  if (result) say(`Lowered ${result.lowered} hand${result.lowered === 1 ? '' : 's'}.`);
});
control('mic').addEventListener('click', () => studio.toggleMic());
control('camera').addEventListener('click', () => studio.toggleCamera());
control('screen').addEventListener('click', () => studio.toggleScreen());
control('switch').addEventListener('click', () => studio.switchCamera());
control('retry').addEventListener('click', () => studio.start());
for (const kind of ['videoinput', 'audioinput']) {
  control(kind).addEventListener('change', (event) => studio.choose(kind, event.target.value));
}

const socket = new LiveSocket(root.dataset.livePath, {
  onSnapshot(snapshot) {
    state = fromSnapshot(snapshot);
    report.reset();
    render();
    renderStudio();
    syncMedia();
  },
  onEvent(event) {
    if (!state) return;
    if (event.type === 'rtc.signal') {
      if (running()) routeSignal(event, receiver.mesh, publisher);
      return;
    }
    if (event.type === 'media.subscribers') {
      subscribers = event.count;
      renderReach();
      return;
    }
    if (event.type === 'media.ready') {
      if (event.attendee.id !== state.me.id) syncMedia({ reconnect: [event.attendee.id] });
      return;
    }
    if (event.type === 'invitation.declined') {
      say(`${event.attendee.name} declined the invitation.`);
      return;
    }
    if (event.type === 'removed') {
      // No longer a host: the socket closes next; stop sending and receiving now.
      removedBecause = event.message;
      receiver?.mesh.leave();
      publisher?.closeAll();
      studio.stop();
      return;
    }
    const before = { hands: state.hands.length, questions: state.questions.length };
    if (applyEvent(state, event)) {
      // Something new for the host: a hand went up, or a question came.
      if (state.hands.length > before.hands || state.questions.length > before.questions) alerts.chime();
      render();
      if (event.type === 'broadcast.state' || event.type === 'stage.changed') syncMedia();
    }
  },
  onStatus(status) {
    renderConnection(root, status, removedBecause);
  },
});

const engagement = new Engagement(root, {
  socket,
  host: true,
  invite: (attendee) => (running() ? invite(attendee) : null),
});
root.querySelector('[data-engage="lead-prompt"]').addEventListener('click', async () => {
  if (await command('lead.prompt')) {
    bound(root, 'lead-note').textContent = `Asked everyone at ${new Date().toLocaleTimeString()}.`;
  }
});
root.querySelector('[data-engage="push-cta"]')?.addEventListener('click', async () => {
  if (await command('cta.push')) {
    bound(root, 'cta-note').textContent = `Shown to everyone at ${new Date().toLocaleTimeString()}.`;
  }
});

report = new MediaReport(socket);
socket.connect();
if (root.dataset.state !== 'ended') studio.start();
