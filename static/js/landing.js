import { startCountdowns } from './countdown.js';
import { localizeTimes } from './ui.js';

localizeTimes();
startCountdowns();

// The call-to-action goes straight to the offer; a beacon counts the click (a POST, so
// that a link preview or a prefetch of the page counts nothing).
for (const kind of ['click', 'auxclick']) {
  document.addEventListener(kind, (event) => {
    const link = event.target.closest('a[data-cta-beacon]');
    if (link && (kind === 'click' || event.button === 1)) navigator.sendBeacon(link.dataset.ctaBeacon);
  });
}
const zone = document.getElementById('start-zone');
if (zone) zone.textContent = `(your time, ${Intl.DateTimeFormat().resolvedOptions().timeZone})`;

// Waiting for the start: look every few seconds, and say "Join live" the moment it is.
const landing = document.getElementById('landing');
const joinNow = document.getElementById('join-now');
const beforeLive = document.getElementById('before-live');
const POLL_MS = 8000;

async function poll() {
  try {
    const response = await fetch(landing.dataset.statusUrl, { headers: { Accept: 'application/json' } });
    if (response.ok) {
      const { state, running } = await response.json();
      if (state === 'ended') {
        location.reload();
        return;
      }
      if (running && joinNow.hidden) {
        joinNow.hidden = false;
        if (beforeLive) beforeLive.hidden = true;
        document.title = `● Live · ${document.title}`;
      }
      landing.dataset.state = state;
    }
  } catch {
    // Offline for a moment: the next poll tries again.
  }
  setTimeout(poll, POLL_MS + Math.random() * 2000);
}

if (landing && !['ended'].includes(landing.dataset.state)) setTimeout(poll, POLL_MS);
