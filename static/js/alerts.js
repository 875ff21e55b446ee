// The host's alerts: the page title counts what waits for them ("(2) Host · ..."), and a
// short chime sounds for a new request or question, unless they switched it off (the
// choice is kept on this device).

import { readSetting, writeSetting } from './ui.js';

const SOUND_KEY = 'primetime:host-sound-alerts';

export class Alerts {
  constructor(toggle) {
    this.toggle = toggle;
    this.title = document.title;
    this.context = null;
    this.sound = readSetting(SOUND_KEY) !== 'off';
    this.render();
    toggle.addEventListener('click', () => {
      this.sound = !this.sound;
      writeSetting(SOUND_KEY, this.sound ? 'on' : 'off');
      this.render();
    });
  }

  render() {
    this.toggle.setAttribute('aria-pressed', String(this.sound));
  }

  // How many things wait for the host: shown before the page's own title.
  waiting(count) {
    document.title = count ? `(${count}) ${this.title}` : this.title;
  }

  chime() {
    if (!this.sound) return;
    try {
      // Browsers let a page make sound once the person has clicked in it: the host has.
      this.context = this.context || new AudioContext();
      this.context.resume().catch(() => {});
      const now = this.context.currentTime;
      const tone = this.context.createOscillator();
      const gain = this.context.createGain();
      tone.frequency.setValueAtTime(880, now);
      tone.frequency.setValueAtTime(1320, now + 0.12);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.15, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
      tone.connect(gain).connect(this.context.destination);
      tone.start(now);
      tone.stop(now + 0.4);
    } catch {
      // No audio here: the badge and the title still say it.
    }
  }
}
