// The lead form: on the end screen, when the host asks (lead.prompt), and beside the
// call-to-action. Sent over the live socket, so it works in the widget on another
// website; field errors come back with the `error` frame and show beside each field.

import { applyReply } from './state.js';
import { reveal } from './tabs.js';
import { bound } from './ui.js';

const FIELDS = ['name', 'email', 'phone', 'company', 'consent'];

export class LeadForm {
  constructor(root, socket) {
    this.root = root;
    this.socket = socket;
    this.card = root.querySelector('#lead-card');
    this.form = this.card.querySelector('[data-lead="form"]');
    this.thanks = this.card.querySelector('[data-lead="thanks"]');
    this.state = null;
    this.shown = false;
    this.dismissed = false;
    this.editing = false;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.card.querySelector('[data-lead="dismiss"]').addEventListener('click', () => {
      this.dismissed = true;
      this.shown = false;
      this.render(this.state);
    });
    this.card.querySelector('[data-lead="edit"]').addEventListener('click', () => {
      this.editing = true;
      this.render(this.state);
      this.field('name').focus();
    });
    root.addEventListener('click', (event) => {
      if (event.target.closest('[data-lead="open"]')) this.open();
    });
  }

  field(name) {
    return this.form.querySelector(`[name="${name}"]`);
  }

  render(state) {
    this.state = state;
    const ended = state.broadcast.state === 'ended';
    // The end screen is a new occasion: a form dismissed during the session comes back.
    if (ended && this.lastBroadcastState && this.lastBroadcastState !== 'ended') this.dismissed = false;
    this.lastBroadcastState = state.broadcast.state;
    const appears = this.card.hidden && (this.shown || (ended && !this.dismissed));
    this.card.hidden = !(this.shown || (ended && !this.dismissed));
    // The side panel opens the tab the form is in when it appears (asked, or the end).
    if (appears) reveal(this.card);
    const lead = state.me.lead;
    const done = Boolean(lead) && !this.editing;
    this.form.hidden = done;
    this.thanks.hidden = !done;
    if (done) {
      bound(this.card, 'lead-thanks').textContent = `Thank you, ${lead.name}! We will be in touch at ${lead.email}.`;
    }
    // Fill in what we know, without overwriting what the person is typing.
    // (A widget guest's placeholder name, "Guest 1234", is not theirs to keep.)
    const placeholder = /^Guest \d{4}$/.test(state.me.name);
    const known = lead || { name: placeholder ? '' : state.me.name };
    for (const name of ['name', 'email', 'phone', 'company']) {
      const input = this.field(name);
      if (input && !input.value && known[name]) input.value = known[name];
    }
  }

  // Show the form (the host asked, or the viewer clicked), and take the focus to it.
  open() {
    this.shown = true;
    this.dismissed = false;
    this.render(this.state);
    reveal(this.card);
    this.card.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    this.card.focus({ preventScroll: true });
  }

  notice(event) {
    if (event.type === 'lead.prompt' && !this.state.me.lead) this.open();
  }

  showErrors(details = {}) {
    for (const name of FIELDS) {
      const box = this.card.querySelector(`#lead-${name}-error`);
      const input = this.field(name);
      const problems = details[name] || [];
      if (box) box.textContent = problems.join(' ');
      if (input) input.toggleAttribute('aria-invalid', problems.length > 0);
    }
    const first = FIELDS.find((name) => details[name] && this.field(name));
    if (first) this.field(first).focus();
  }

  async submit() {
    const fields = {};
    for (const name of ['name', 'email', 'phone', 'company', 'website']) {
      const input = this.field(name);
      if (input) fields[name] = input.value;
    }
    fields.consent = this.field('consent').checked;
    const button = this.form.querySelector('button[type="submit"]');
    const problem = bound(this.card, 'lead-error');
    problem.textContent = '';
    button.disabled = true;
    try {
      const reply = await this.socket.send('lead.submit', fields);
      this.showErrors({});
      applyReply(this.state, { type: 'lead.submit', ...fields }, reply);
      this.editing = false;
      this.render(this.state);
      this.thanks.setAttribute('tabindex', '-1');
      this.thanks.focus();
    } catch (error) {
      this.showErrors(error.details || {});
      problem.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }
}
