// What the pages share: drawing the parts common to the watch page and the host
// console, and the small helpers every page uses (commands whose error reply shows in a
// box, buttons, person rows, settings kept in storage).

const STATE_LABELS = {
  draft: 'Draft',
  scheduled: 'Starting soon',
  live: 'Live',
  paused: 'Paused',
  ended: 'Ended',
};

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  reconnecting: 'Connection lost. Reconnecting…',
  connected: '',
  removed: 'You were removed from this broadcast.',
};

export function bound(root, name) {
  return root.querySelector(`[data-bind="${name}"]`);
}

export const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

// The presenter's rating as the pages say it: "4.5 ★ from 2 ratings".
export const ratingText = (average, count, none = 'No ratings yet') =>
  count ? `${average.toFixed(1)} ★ from ${plural(count, 'rating')}` : none;

// Send a command, showing its error reply (or the socket's: offline, timeout) in `box`,
// which is cleared first. Resolves to the ack, or to null when the command failed, so a
// caller carries on only after a success.
export async function sendCommand(socket, box, type, fields = {}, { scroll = false } = {}) {
  if (box) box.textContent = '';
  try {
    return await socket.send(type, fields);
  } catch (error) {
    if (box) {
      box.textContent = error.message;
      if (scroll) box.scrollIntoView({ block: 'nearest' });
    }
    return null;
  }
}

// The camera or microphone could not be had: say why, with the retry beside it.
export function showMediaProblem(root, message) {
  bound(root, 'media-error').textContent = message;
  bound(root, 'media-problem').hidden = !message;
}

export function makeButton(text, { label = null, className = 'link small' } = {}) {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = className;
  element.textContent = text;
  if (label) element.setAttribute('aria-label', label);
  return element;
}

// A person in a list (requests, speakers, the dashboard's audience): picture, name, and
// whatever controls follow.
export function personRow(attendee, { size, extra = [] }) {
  const item = document.createElement('li');
  item.dataset.attendee = attendee.id;
  const img = document.createElement('img');
  img.src = attendee.avatar;
  img.alt = '';
  img.width = size;
  img.height = size;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = attendee.name;
  item.append(img, name, ...extra);
  return item;
}

// Rebuild a list only when what it shows changed (`key`): a list rebuilt on every event
// (the audience count changes each second) would replace a button under the pointer
// between press and release, and the click would be lost.
export function replaceIfChanged(list, key, build) {
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...build());
}

const people = (attendees) => attendees.map((a) => [a.id, a.name, a.role, a.avatar]);

// A third-party frame may be denied storage: then settings last as long as the page.
export function readSetting(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function writeSetting(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not kept; fine.
  }
}

// The host's buttons beside a person: Invite (on stage) and Remove (from the broadcast).
function personActions(attendee, { hand = false, invite = null, remove = null }) {
  const buttons = [];
  if (invite && attendee.role === 'viewer' && !hand) {
    const button = makeButton('Invite', { label: `Invite ${attendee.name} on stage` });
    button.addEventListener('click', () => invite(attendee));
    buttons.push(button);
  }
  if (remove && attendee.role !== 'host') {
    const button = makeButton('Remove', {
      label: `Remove ${attendee.name} from the broadcast`,
      className: 'link small danger-link',
    });
    button.addEventListener('click', () => remove(attendee));
    buttons.push(button);
  }
  return buttons;
}

function attendeeTile(attendee, { me = false, hand = false, invite = null, remove = null } = {}) {
  const item = document.createElement('li');
  item.className = `attendee role-${attendee.role}${me ? ' me' : ''}${hand ? ' hand-raised' : ''}`;
  item.dataset.attendee = attendee.id;
  const picture = document.createElement('span');
  picture.className = 'picture';
  const img = document.createElement('img');
  img.src = attendee.avatar;
  img.alt = '';
  img.width = 40;
  img.height = 40;
  picture.append(img);
  if (hand) {
    const badge = document.createElement('span');
    badge.className = 'hand';
    badge.innerHTML = '<span class="icon-hand" aria-hidden="true"></span><span class="visually-hidden">Waiting for approval</span>';
    picture.append(badge);
  }
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = me ? `${attendee.name} (you)` : attendee.name;
  item.append(picture, name, ...personActions(attendee, { hand, invite, remove }));
  return item;
}

// The viewer's own picture first, then raised hands, then a sample of everyone else.
export function renderAudience(list, state, { invite = null, remove = null } = {}) {
  const me = state.me;
  const handIds = new Set(state.hands.map((a) => a.id));
  const onStage = new Set(state.stage.map((a) => a.id));
  const seen = new Set([me.id]);
  const others = [];
  for (const attendee of [...state.hands, ...state.audience.sample]) {
    if (seen.has(attendee.id)) continue;
    seen.add(attendee.id);
    others.push(attendee);
  }
  // The count is the audience's: a host's own tile (on the console) is not in it.
  const rest = state.audience.count - others.length - (me.role === 'host' ? 0 : 1);
  const key = JSON.stringify([people([me, ...others]), [...handIds], [...onStage], rest, Boolean(invite), Boolean(remove)]);
  replaceIfChanged(list, key, () => {
    const tiles = [
      attendeeTile(me, { me: true, hand: handIds.has(me.id) }),
      ...others.map((a) =>
        attendeeTile(a, { hand: handIds.has(a.id), invite: onStage.has(a.id) ? null : invite, remove }),
      ),
    ];
    if (rest > 0) {
      const more = document.createElement('li');
      more.className = 'attendee more';
      more.textContent = `+${rest} more`;
      tiles.push(more);
    }
    return tiles;
  });
}

// Stage tiles are kept across renders (keyed by attendee) so their <video> elements,
// and the media playing in them, survive every state change.
function stageTile(attendee) {
  // Not a list item: each tile is an image, named by the person on it.
  const tile = document.createElement('div');
  tile.className = 'stage-tile';
  tile.dataset.attendee = attendee.id;
  tile.dataset.media = 'none';
  tile.setAttribute('role', 'img');
  const video = document.createElement('video');
  video.playsInline = true;
  video.autoplay = true;
  const img = document.createElement('img');
  img.className = 'tile-avatar';
  img.alt = '';
  const status = document.createElement('span');
  status.className = 'tile-status';
  const name = document.createElement('span');
  name.className = 'name';
  const muted = document.createElement('span');
  muted.className = 'tile-muted';
  muted.textContent = 'Muted';
  tile.append(video, img, status, name, muted);
  return tile;
}

export function renderStage(list, state) {
  const existing = new Map([...list.children].map((tile) => [Number(tile.dataset.attendee), tile]));
  const tiles = state.stage.map((attendee) => {
    const tile = existing.get(attendee.id) || stageTile(attendee);
    // classList, not className: the media classes (mirrored, no-video) must stay.
    tile.classList.remove('role-host', 'role-speaker', 'role-viewer');
    tile.classList.add(`role-${attendee.role}`);
    tile.setAttribute('aria-label', attendee.name);
    // No page of theirs is open (the host closed the console or lost the network).
    tile.dataset.away = String(Boolean(attendee.away));
    // As their page last said (media.state); the name stays the tile's accessible name.
    tile.dataset.camera = attendee.camera === false ? 'off' : 'on';
    tile.dataset.microphone = attendee.microphone === false ? 'off' : 'on';
    const off = [attendee.camera === false && 'camera off', attendee.microphone === false && 'microphone off'];
    tile.setAttribute('aria-description', off.filter(Boolean).join(', '));
    tile.querySelector('.tile-avatar').src = attendee.avatar;
    tile.querySelector('.name').textContent = attendee.name;
    return tile;
  });
  // Move only what changed, so playing videos are not detached.
  tiles.forEach((tile, index) => {
    if (list.children[index] === tile) return;
    const moved = tile.isConnected;
    list.insertBefore(tile, list.children[index] || null);
    // A media element pauses when it leaves the document, even for a moment.
    const video = tile.querySelector('video');
    if (moved && video.srcObject) video.play().catch(() => {});
  });
  for (const tile of [...list.children]) if (!tiles.includes(tile)) tile.remove();
  list.dataset.count = tiles.length;
}

export function renderCommon(root, state, { invite = null, remove = null } = {}) {
  const { broadcast } = state;
  root.dataset.state = broadcast.state;
  root.setAttribute('aria-busy', 'false');
  const badge = bound(root, 'state-badge');
  badge.textContent = STATE_LABELS[broadcast.state];
  badge.className = `badge ${broadcast.state}`;
  const viewers = bound(root, 'viewers');
  const count = state.audience.count;
  viewers.textContent = `${count} watching`;
  renderStage(bound(root, 'stage'), state);
  renderAudience(bound(root, 'audience'), state, { invite, remove });
}

// The People (Audience) tab: who is on stage, then the audience (a sample of it, as the
// strip), with the host's Invite and Remove on the console.
export function renderPeople(root, state, { invite = null, remove = null } = {}) {
  const hands = new Set(state.hands.map((a) => a.id));
  const row = (attendee) => {
    const mine = attendee.id === state.me.id;
    const extra = mine ? [] : personActions(attendee, { hand: hands.has(attendee.id), invite, remove });
    const item = personRow(attendee, { size: 28, extra });
    if (mine) item.querySelector('.name').textContent += ' (you)';
    return item;
  };
  const actions = [[...hands], Boolean(invite), Boolean(remove)];
  replaceIfChanged(bound(root, 'people-stage'), JSON.stringify([people(state.stage), actions]), () =>
    state.stage.map(row),
  );
  const onStage = new Set(state.stage.map((a) => a.id));
  const audience = state.audience.sample.filter((a) => !onStage.has(a.id));
  replaceIfChanged(bound(root, 'people-audience'), JSON.stringify([people(audience), actions]), () =>
    audience.map(row),
  );
  bound(root, 'people-count').textContent = `(${state.audience.count})`;
}

// `reason`: what the server said when it took the page out (its `removed` event).
export function renderConnection(root, status, reason = '') {
  bound(root, 'connection').textContent = (status === 'removed' && reason) || (CONNECTION_TEXT[status] ?? '');
  root.dataset.connection = status;
  if (status === 'removed') document.body.dataset.removed = 'true';
}

export function localizeTimes(scope = document) {
  // dateStyle/timeStyle cannot be combined with timeZoneName, hence the long form.
  const format = new Intl.DateTimeFormat(undefined, {
    weekday: 'long',
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    timeZoneName: 'short',
  });
  for (const time of scope.querySelectorAll('time[datetime]')) {
    const moment = new Date(time.getAttribute('datetime'));
    if (!Number.isNaN(moment.valueOf())) time.textContent = format.format(moment);
  }
}
