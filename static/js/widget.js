// The embedded widget's two shapes: open (the whole broadcast) and folded (a floating
// "Open live broadcast" button). The page around it (embed.js) sizes the iframe when
// told. Once a viewer folds it, it stays folded, across reloads, until they open it.

import { countdownText } from './countdown.js';
import { applyReply } from './state.js';

// Events that are for this viewer: worth a badge on the folded button.
const FOR_YOU = {
  'hand.approved': 'You are on stage',
  'stage.invited': 'The host invites you on stage',
  'lead.prompt': 'The host asks for your details',
  cta: 'A message from the host',
};

export class Widget {
  constructor(body, socket) {
    this.body = body;
    this.socket = socket;
    this.fold = document.getElementById('widget-fold');
    this.panel = document.getElementById('widget');
    this.openButton = this.fold.querySelector('[data-widget="open"]');
    this.closeButton = this.panel.querySelector('[data-widget="close"]');
    this.status = document.getElementById('fold-status');
    this.badge = document.getElementById('fold-badge');
    this.decided = false;
    this.isOpen = false;
    this.state = null;
    this.openButton.addEventListener('click', () => this.setOpen(true, { byViewer: true }));
    this.closeButton.addEventListener('click', () => this.setOpen(false, { byViewer: true }));
    this.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.setOpen(false, { byViewer: true });
    });
    setInterval(() => this.renderFold(), 1000);
    // However the folded shape changes (a longer status, a badge), ask for room.
    new ResizeObserver(() => {
      if (!this.isOpen) this.tellParent();
    }).observe(this.fold);
  }

  render(state) {
    this.state = state;
    if (!this.decided) {
      // Only the first snapshot decides; later ones (a reconnect) never unfold it.
      this.decided = true;
      this.setOpen(!state.me.widget_closed, { byViewer: false });
    }
    this.renderFold();
  }

  notice(event) {
    const why = FOR_YOU[event.type];
    if (!why || this.isOpen) return;
    this.badge.hidden = false;
    this.badge.querySelector('.visually-hidden').textContent = why;
  }

  renderFold() {
    if (!this.state) return;
    const { state, scheduled_start: start } = this.state.broadcast;
    let text = { live: 'Live now', paused: 'Live now · paused', ended: 'Ended' }[state];
    if (!text) text = start ? countdownText(new Date(start) - Date.now()) : 'Starting soon';
    this.status.textContent = text;
    this.fold.dataset.state = state;
  }

  // Ask the page around the iframe for room: the whole widget, or just the folded pill
  // (its status line and button, plus the fold's padding).
  tellParent() {
    const line = this.fold.querySelector('.fold-line').getBoundingClientRect();
    const height = this.isOpen ? null : Math.ceil(this.fold.getBoundingClientRect().height);
    const width = this.isOpen ? null : Math.ceil(line.width) + 24;
    window.parent?.postMessage({ type: 'primetime:widget', open: this.isOpen, height, width }, '*');
  }

  setOpen(open, { byViewer }) {
    this.isOpen = open;
    this.panel.hidden = !open;
    this.fold.hidden = open;
    this.body.dataset.folded = String(!open);
    if (open) this.badge.hidden = true;
    this.renderFold();
    this.tellParent();
    if (byViewer) {
      const command = open ? 'widget.open' : 'widget.close';
      this.socket
        .send(command)
        .then((reply) => this.state && applyReply(this.state, { type: command }, reply))
        .catch(() => {});
      (open ? this.closeButton : this.openButton).focus();
    }
  }
}
