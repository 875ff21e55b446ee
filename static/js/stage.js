// Media on the stage tiles: streams into <video> elements, autoplay rules, the loading
// state until the first frame, and what to say when video cannot be had.

import { MeshReceiver } from './mesh.js';
import { isRunning } from './state.js';

const STATUS_TEXT = {
  connecting: 'Connecting video…',
  retrying: 'Reconnecting video…',
  waiting: 'Waiting for video…',
  off: 'Camera off',
  away: 'Reconnecting…',
  hostAway: 'The host is reconnecting…',
};

export class StageMedia {
  constructor(list) {
    this.list = list;
    this.streams = new Map(); // attendee id -> MediaStream
    this.states = new Map(); // attendee id -> [state, message]
    this.soundBlocked = false; // the browser wants a gesture before sound
    this.userMuted = false; // this viewer pressed Mute
    this.onSoundChange = () => {};
    this.local = new Set(); // our own preview: muted and mirrored
    this.frames = new Map(); // tile -> frames decoded at the last look
    // A sender whose video stops arriving leaves the last frame frozen: notice it and
    // show the person's picture instead.
    setInterval(() => this.watchFrames(), 1000);
  }

  watchFrames() {
    for (const tile of this.list.children) {
      const video = tile.querySelector('video');
      if (!video.srcObject) continue;
      const local = this.local.has(Number(tile.dataset.attendee));
      // A stream whose first track came after play() was called may sit paused, and
      // the 'playing' event is not always sent again: look, and start it if need be.
      if (video.paused && (local || video.muted || !this.soundBlocked)) video.play().catch(() => {});
      if (tile.dataset.media === 'loading' && video.videoWidth > 0 && !video.paused) {
        tile.dataset.media = 'playing';
        this.sync();
      }
      if (!['playing', 'stalled'].includes(tile.dataset.media)) continue;
      const frames = video.getVideoPlaybackQuality().totalVideoFrames;
      const moving = frames !== this.frames.get(tile);
      this.frames.set(tile, frames);
      const next = moving || !video.srcObject.getVideoTracks().length ? 'playing' : 'stalled';
      if (next !== tile.dataset.media) {
        tile.dataset.media = next;
        this.sync();
      }
    }
  }

  tile(attendeeId) {
    return this.list.querySelector(`[data-attendee="${attendeeId}"]`);
  }

  attach(attendeeId, stream, { local = false } = {}) {
    this.streams.set(attendeeId, stream);
    if (local) this.local.add(attendeeId);
    this.sync();
  }

  detach(attendeeId) {
    this.streams.delete(attendeeId);
    this.states.delete(attendeeId);
    this.sync();
  }

  setState(attendeeId, state, message = '') {
    this.states.set(attendeeId, [state, message]);
    this.sync();
  }

  clear() {
    this.streams.clear();
    this.states.clear();
    this.sync();
  }

  // Called after every render: tiles may have been added or removed.
  sync() {
    for (const tile of this.list.children) {
      const id = Number(tile.dataset.attendee);
      const video = tile.querySelector('video');
      const stream = this.streams.get(id) || null;
      if (video.srcObject !== stream) {
        video.srcObject = stream;
        tile.dataset.media = stream ? 'loading' : 'none';
        if (stream) this.play(tile, video, this.local.has(id));
      }
      const [state, message] = this.states.get(id) || [];
      const status = tile.querySelector('.tile-status');
      const noVideo = stream && stream.getVideoTracks().length === 0;
      const away = tile.dataset.away === 'true';
      // "Camera off" only when their page says so (media.state); video that stopped
      // arriving is waited for, under their picture rather than a frozen frame.
      const cameraOff = tile.dataset.camera === 'off';
      const stalled = tile.dataset.media === 'stalled';
      tile.classList.toggle('no-video', Boolean(noVideo) || away || cameraOff || stalled);
      if (away) {
        // Gone, not "Camera off": their page closed or their network went.
        status.textContent = tile.classList.contains('role-host') ? STATUS_TEXT.hostAway : STATUS_TEXT.away;
      } else if (state === 'failed' || state === 'full' || state === 'error') {
        tile.dataset.media = 'failed';
        status.textContent = message;
      } else if (cameraOff) {
        status.textContent = STATUS_TEXT.off;
      } else if (noVideo || stalled) {
        status.textContent = STATUS_TEXT.waiting;
      } else if (tile.dataset.media === 'playing') {
        status.textContent = '';
      } else {
        status.textContent = STATUS_TEXT[state] || (stream ? STATUS_TEXT.connecting : '');
      }
    }
  }

  play(tile, video, local) {
    tile.classList.toggle('mirrored', local);
    video.onplaying = () => {
      tile.dataset.media = 'playing';
      this.sync();
    };
    // The tile takes the picture's shape: a phone held upright sends a portrait one.
    video.onresize = () => {
      if (video.videoWidth) tile.dataset.orientation = video.videoHeight > video.videoWidth ? 'portrait' : 'landscape';
    };
    if (local) {
      video.muted = true; // never hear yourself
      video.play().catch(() => {});
      return;
    }
    video.muted = this.isMuted();
    video.play().catch((error) => {
      if (error.name !== 'NotAllowedError') return;
      // The browser wants a gesture before sound: play muted; the Mute control says
      // Unmute (onSoundChange).
      this.soundBlocked = true;
      video.muted = true;
      video.play().catch(() => {});
      this.onSoundChange();
    });
  }

  isMuted() {
    return this.userMuted || this.soundBlocked;
  }

  // Silence (or bring back) the stage's sound on this device only.
  setMuted(muted) {
    this.userMuted = muted;
    if (muted) {
      for (const video of this.list.querySelectorAll('video')) video.muted = true;
      this.onSoundChange();
    } else {
      this.unmute();
    }
  }

  unmute() {
    this.soundBlocked = false;
    this.userMuted = false;
    for (const tile of this.list.children) {
      const video = tile.querySelector('video');
      if (this.local.has(Number(tile.dataset.attendee)) || !video.srcObject) continue;
      video.muted = false;
      video.play().catch(() => {});
    }
    this.onSoundChange();
  }
}

// Receive from everyone else on stage while the broadcast runs, and from nobody
// otherwise; `reconnect` names stage members whose page sends anew (media.ready).
export class StageReceiver {
  constructor(socket, stageMedia, media) {
    this.stageMedia = stageMedia;
    this.mesh = new MeshReceiver(socket, media, {
      onStream: (id, stream) => stageMedia.attach(id, stream),
      onState: (id, mediaState, message) => stageMedia.setState(id, mediaState, message),
    });
  }

  follow(state, { reconnect = [] } = {}) {
    this.mesh.useMedia(state.media);
    const wanted = isRunning(state) ? state.stage.map((a) => a.id).filter((id) => id !== state.me.id) : [];
    for (const id of [...this.mesh.peers.keys()]) {
      if (!wanted.includes(id)) {
        this.mesh.close(id);
        this.stageMedia.detach(id);
      }
    }
    for (const id of wanted) {
      if (reconnect.includes(id) || !this.mesh.has(id)) this.mesh.connect(id);
    }
  }
}
