// The host's own camera and microphone: capture, device choice, mute, camera off,
// screen share and the camera switch on phones, with a clear word on every failure.

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

const FAILURES = {
  NotAllowedError: 'Camera and microphone access is blocked. Allow it for this site (the camera icon in the address bar), then choose Try again.',
  SecurityError: 'This page may not use the camera here. Open it over https.',
  NotFoundError: 'No camera or microphone was found. Plug one in, then choose Try again.',
  OverconstrainedError: 'The chosen camera is not available any more. Pick another one.',
  NotReadableError: 'Your camera or microphone is busy in another application. Close it, then choose Try again.',
};

function describe(error) {
  return FAILURES[error.name] || `The camera could not start (${error.name || error.message}).`;
}

export function canShareScreen() {
  const mobile = navigator.userAgentData?.mobile || /Android|iPhone|iPad|Mobile/i.test(navigator.userAgent);
  return Boolean(navigator.mediaDevices?.getDisplayMedia) && !mobile;
}

// Tells the server whether the camera and microphone are on, once per change, so
// viewers read "Camera off" only of a camera switched off (not of video that stalled).
export class MediaReport {
  constructor(socket) {
    this.socket = socket;
    this.sent = '';
  }

  update(sending) {
    const said = JSON.stringify(sending);
    if (said === this.sent) return;
    this.sent = said;
    this.socket.send('media.state', sending).catch(() => {
      if (this.sent === said) this.sent = ''; // said again at the next change or snapshot
    });
  }

  // A new connection (or a reload on the server's side): say it again.
  reset() {
    this.sent = '';
  }
}

export class Studio {
  // onTrack(kind, track | null): what to send changed; onChange(): redraw the controls;
  // onError(message | ''): something the host must know.
  constructor({ onTrack, onChange, onError }) {
    this.onTrack = onTrack;
    this.onChange = onChange;
    this.onError = onError;
    this.preview = new MediaStream();
    this.audio = null;
    this.camera = null;
    this.screen = null;
    this.micOn = true;
    this.cameraOn = true;
    this.ready = false; // until the first capture has been tried
    this.facingMode = 'user';
    this.devices = { audioinput: [], videoinput: [] };
    this.chosen = { audioinput: '', videoinput: '' };
    navigator.mediaDevices?.addEventListener('devicechange', () => this.listDevices());
  }

  get videoTrack() {
    return this.screen || this.camera;
  }

  // What viewers are told this page sends (media.state).
  get sending() {
    return { camera: Boolean(this.videoTrack), microphone: Boolean(this.audio) && this.micOn };
  }

  async start() {
    this.onError('');
    if (!navigator.mediaDevices?.getUserMedia) {
      this.onError(FAILURES.SecurityError);
      this.ready = true;
      this.onChange();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: this.videoConstraints() });
      this.useAudio(stream.getAudioTracks()[0] || null);
      this.useCamera(stream.getVideoTracks()[0] || null);
    } catch (error) {
      // Maybe only one of the two is missing or blocked: get what can be had.
      await this.startEach(error);
    }
    this.ready = true;
    await this.listDevices();
  }

  async startEach(firstError) {
    const results = await Promise.allSettled([
      navigator.mediaDevices.getUserMedia({ audio: true }),
      navigator.mediaDevices.getUserMedia({ video: this.videoConstraints() }),
    ]);
    const [audio, video] = results;
    if (audio.status === 'fulfilled') this.useAudio(audio.value.getAudioTracks()[0]);
    if (video.status === 'fulfilled') this.useCamera(video.value.getVideoTracks()[0]);
    if (audio.status === 'rejected' && video.status === 'rejected') {
      this.onError(describe(firstError));
    } else if (video.status === 'rejected') {
      this.cameraOn = false;
      this.onError(`${describe(video.reason)} You are live with sound only until then.`);
    } else if (audio.status === 'rejected') {
      this.onError(`${describe(audio.reason)} Viewers see you without sound until then.`);
    }
    this.onChange();
  }

  videoConstraints() {
    const chosen = this.chosen.videoinput;
    return chosen ? { ...VIDEO, deviceId: { exact: chosen } } : { ...VIDEO, facingMode: this.facingMode };
  }

  useAudio(track) {
    if (this.audio) {
      this.preview.removeTrack(this.audio);
      this.audio.stop();
    }
    this.audio = track;
    if (track) {
      track.enabled = this.micOn;
      this.preview.addTrack(track);
      track.onended = () => this.lost('audio');
    }
    this.onTrack('audio', track);
    this.onChange();
  }

  useCamera(track) {
    if (this.camera) {
      if (!this.screen) this.preview.removeTrack(this.camera);
      this.camera.onended = null;
      this.camera.stop();
    }
    this.camera = track;
    if (track) track.onended = () => this.lost('video');
    if (!this.screen) this.showVideo(track);
    this.onChange();
  }

  showVideo(track) {
    for (const old of this.preview.getVideoTracks()) this.preview.removeTrack(old);
    if (track) this.preview.addTrack(track);
    this.onTrack('video', track);
  }

  // A device unplugged mid-session: say so, and fall back to whatever else there is.
  async lost(kind) {
    const what = kind === 'audio' ? 'microphone' : 'camera';
    this.onError(`Your ${what} stopped (was it unplugged?). Trying another one…`);
    this.chosen[kind === 'audio' ? 'audioinput' : 'videoinput'] = '';
    try {
      if (kind === 'audio') {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        this.useAudio(stream.getAudioTracks()[0]);
      } else {
        const stream = await navigator.mediaDevices.getUserMedia({ video: this.videoConstraints() });
        this.useCamera(stream.getVideoTracks()[0]);
      }
      this.onError(`Your ${what} stopped; switched to another one.`);
    } catch (error) {
      if (kind === 'audio') this.useAudio(null);
      else this.useCamera(null);
      this.onError(`Your ${what} stopped and no other one was found. ${describe(error)}`);
    }
    await this.listDevices();
  }

  toggleMic() {
    this.micOn = !this.micOn;
    if (this.audio) this.audio.enabled = this.micOn;
    this.onChange();
  }

  async toggleCamera() {
    if (this.cameraOn) {
      this.cameraOn = false;
      this.useCamera(null); // the camera light goes off; viewers see the avatar
      return;
    }
    this.cameraOn = true;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: this.videoConstraints() });
      this.useCamera(stream.getVideoTracks()[0]);
      this.onError('');
    } catch (error) {
      this.cameraOn = false;
      this.onError(describe(error));
      this.onChange();
    }
  }

  async toggleScreen() {
    if (this.screen) {
      this.stopScreen();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      this.screen = stream.getVideoTracks()[0];
      this.screen.onended = () => this.stopScreen(); // the browser's own "Stop sharing"
      this.showVideo(this.screen);
      this.onChange();
    } catch (error) {
      if (error.name !== 'NotAllowedError') this.onError(`Screen sharing failed (${error.name}).`);
    }
  }

  stopScreen() {
    if (!this.screen) return;
    this.screen.onended = null;
    this.screen.stop();
    this.screen = null;
    this.showVideo(this.camera);
    this.onChange();
  }

  async switchCamera() {
    const cameras = this.devices.videoinput;
    if (cameras.length > 1) {
      const index = cameras.findIndex((device) => device.deviceId === this.camera?.getSettings().deviceId);
      this.chosen.videoinput = cameras[(index + 1) % cameras.length].deviceId;
    } else {
      this.chosen.videoinput = '';
      this.facingMode = this.facingMode === 'user' ? 'environment' : 'user';
    }
    await this.restart('videoinput');
  }

  async choose(kind, deviceId) {
    this.chosen[kind] = deviceId;
    await this.restart(kind);
  }

  async restart(kind) {
    try {
      if (kind === 'audioinput') {
        const id = this.chosen.audioinput;
        const stream = await navigator.mediaDevices.getUserMedia({ audio: id ? { deviceId: { exact: id } } : true });
        this.useAudio(stream.getAudioTracks()[0]);
      } else if (this.cameraOn) {
        // Some phones cannot open two cameras at once: let go of the old one first.
        if (this.camera) this.camera.stop();
        const stream = await navigator.mediaDevices.getUserMedia({ video: this.videoConstraints() });
        this.useCamera(stream.getVideoTracks()[0]);
      }
      this.onError('');
    } catch (error) {
      this.onError(describe(error));
    }
  }

  async listDevices() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const all = await navigator.mediaDevices.enumerateDevices();
    for (const kind of ['audioinput', 'videoinput']) {
      this.devices[kind] = all.filter((device) => device.kind === kind && device.deviceId);
    }
    this.onChange();
  }

  current(kind) {
    const track = kind === 'audioinput' ? this.audio : this.camera;
    return this.chosen[kind] || track?.getSettings().deviceId || '';
  }

  stop() {
    for (const track of [this.audio, this.camera, this.screen]) {
      if (track) {
        track.onended = null;
        track.stop();
      }
    }
    this.audio = this.camera = this.screen = null;
    this.ready = false;
    this.onTrack('audio', null);
    this.onTrack('video', null);
    this.onChange();
  }
}
