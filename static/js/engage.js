// Everything a viewer does besides speaking: questions, likes, stars, mute, and the
// call-to-action. The watch page, the widget and the host console share it; the host
// gets the moderation buttons.

import { applyReply, isRunning } from './state.js';
import { bound, makeButton, plural, ratingText, readSetting, sendCommand, writeSetting } from './ui.js';

const BADGES = {
  pending: 'Waiting for approval',
  answered: 'Answered',
  hidden: 'Hidden',
};

// The host's moderation buttons. Which apply to a question is the server's word: each
// question carries its `moves`, in the order they are shown.
const MOVE_LABELS = {
  'question.approve': 'Approve',
  'question.answer': 'Mark answered',
  'question.reopen': 'Reopen',
  'question.show': 'Show',
  'question.hide': 'Hide',
  'question.pin': 'Pin',
  'question.unpin': 'Unpin',
};

export class Engagement {
  constructor(root, { socket, host = false, stageMedia = null, invite = null, source = 'watch', canVote = true }) {
    this.root = root;
    this.canVote = canVote;
    this.socket = socket;
    this.host = host;
    this.stageMedia = stageMedia;
    this.invite = invite;
    this.source = source;
    this.state = null;
    this.sort = 'votes';
    this.muteKey = 'primetime:muted';
    this.wire();
  }

  part(selector) {
    return this.root.querySelector(selector);
  }

  wire() {
    const form = this.part('[data-engage="ask"]');
    if (form) {
      const text = form.querySelector('textarea');
      text.addEventListener('input', () => this.renderCounter());
      text.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
      });
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        this.ask();
      });
    }
    for (const button of this.root.querySelectorAll('[data-sort]')) {
      button.addEventListener('click', () => {
        this.sort = button.dataset.sort;
        this.renderQuestions();
      });
    }
    this.part('[data-engage="like"]')?.addEventListener('click', () => this.like());
    for (const star of this.root.querySelectorAll('[data-stars]')) {
      star.addEventListener('click', () => this.rate(Number(star.dataset.stars)));
    }
    const mute = this.part('[data-engage="mute"]');
    if (mute && this.stageMedia) {
      if (readSetting(this.muteKey) === '1') this.stageMedia.setMuted(true);
      this.stageMedia.onSoundChange = () => this.renderMute();
      mute.addEventListener('click', () => {
        const muted = !this.stageMedia.isMuted();
        this.stageMedia.setMuted(muted);
        writeSetting(this.muteKey, muted ? '1' : '0');
        this.renderMute();
      });
    }
    // Count clicks on the call-to-action; the link itself opens in a new tab.
    this.root.addEventListener('click', (event) => {
      const link = event.target.closest('a[data-cta]');
      if (link) this.socket.send('cta.click', { source: link.dataset.cta || this.source }).catch(() => {});
    });
  }

  command(type, fields, errorBind) {
    return sendCommand(this.socket, errorBind ? bound(this.root, errorBind) : null, type, fields);
  }

  async ask() {
    const form = this.part('[data-engage="ask"]');
    const text = form.querySelector('textarea');
    const value = text.value.trim();
    if (!value) {
      bound(this.root, 'ask-error').textContent = 'Type your question first.';
      text.focus();
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    const reply = await this.command('question.ask', { text: value }, 'ask-error');
    button.disabled = false;
    if (!reply) {
      text.focus();
      return;
    }
    text.value = '';
    this.renderCounter();
    bound(this.root, 'ask-status').textContent =
      reply.state === 'pending' ? 'Sent. Your question appears once the host approves it.' : 'Your question was sent.';
  }

  async like() {
    if (this.state.me.liked) return; // a like is for good; a second click changes nothing
    const reply = await this.command('like', {}, 'reaction-error');
    if (reply) {
      applyReply(this.state, { type: 'like' }, reply);
      this.renderReactions();
    }
  }

  async rate(stars) {
    const reply = await this.command('rate', { stars }, 'reaction-error');
    if (reply) {
      applyReply(this.state, { type: 'rate', stars }, reply);
      this.renderReactions();
    }
  }

  async vote(question) {
    const fields = { question: question.id };
    const reply = await this.command('question.upvote', fields, 'ask-error');
    if (reply) {
      applyReply(this.state, { type: 'question.upvote', ...fields }, reply);
      this.renderQuestions();
    }
  }

  render(state) {
    this.state = state;
    this.renderCounter();
    this.renderReactions();
    this.renderQuestions();
    this.renderCtaBanner();
    this.renderMute();
  }

  renderCounter() {
    const text = this.part('[data-engage="ask"] textarea');
    const counter = bound(this.root, 'question-counter');
    if (!text || !counter || !this.state) return;
    const max = this.state.broadcast.limits.question_chars; // the server's limit
    text.maxLength = max;
    const length = text.value.trim().length;
    counter.textContent = `${length} / ${max}`;
    counter.classList.toggle('near-limit', length > max - 50);
  }

  renderMute() {
    const mute = this.part('[data-engage="mute"]');
    if (!mute || !this.stageMedia) return;
    const muted = this.stageMedia.isMuted();
    // The name says what a press does: Mute while sound plays, Unmute while silent.
    mute.textContent = muted ? 'Unmute' : 'Mute';
    mute.classList.toggle('muted', muted);
  }

  renderReactions() {
    const { state } = this;
    const running = isRunning(state);
    const likes = bound(this.root, 'likes');
    if (likes) likes.textContent = plural(state.likes, 'like');
    const like = this.part('[data-engage="like"]');
    if (like) {
      like.setAttribute('aria-pressed', String(Boolean(state.me.liked)));
      like.classList.toggle('liked', Boolean(state.me.liked));
      like.disabled = !running && !state.me.liked;
    }
    const stars = [...this.root.querySelectorAll('[data-stars]')];
    for (const star of stars) {
      const value = Number(star.dataset.stars);
      star.setAttribute('aria-pressed', String(state.me.rating === value));
      star.classList.toggle('filled', Boolean(state.me.rating) && value <= state.me.rating);
      star.disabled = !running;
    }
    const mine = bound(this.root, 'my-rating');
    if (mine) mine.textContent = state.me.rating ? `You gave ${plural(state.me.rating, 'star')}` : '';
    const summary = bound(this.root, 'rating-summary');
    if (summary) {
      const { average, count } = state.broadcast.rating || {};
      summary.textContent = ratingText(average, count);
    }
  }

  renderCtaBanner() {
    const banner = bound(this.root, 'cta-banner');
    if (!banner) return;
    const { cta, cta_pushed_at: pushed } = this.state.broadcast;
    const show = Boolean(cta && pushed && isRunning(this.state));
    banner.hidden = !show;
    if (!show || banner.dataset.shown === pushed) return;
    banner.dataset.shown = pushed;
    const headline = document.createElement('p');
    headline.className = 'cta-headline';
    headline.textContent = cta.headline || 'From the host';
    const link = document.createElement('a');
    link.className = 'button primary';
    link.href = cta.url;
    link.target = '_blank';
    link.rel = 'noopener';
    link.dataset.cta = this.source;
    link.textContent = cta.label;
    const dismiss = makeButton('Dismiss');
    dismiss.addEventListener('click', () => {
      banner.hidden = true;
      this.state.broadcast.cta_pushed_at = null;
    });
    banner.replaceChildren(headline, link, dismiss);
  }

  sorted() {
    const questions = [...this.state.questions];
    const byTime = (a, b) => new Date(b.created_at) - new Date(a.created_at) || b.id - a.id;
    const byVotes = (a, b) => b.votes - a.votes || new Date(a.created_at) - new Date(b.created_at) || a.id - b.id;
    questions.sort((a, b) => Number(b.pinned) - Number(a.pinned) || (this.sort === 'time' ? byTime(a, b) : byVotes(a, b)));
    return questions;
  }

  renderQuestions() {
    const list = bound(this.root, 'questions');
    if (!list || !this.state) return;
    for (const button of this.root.querySelectorAll('[data-sort]')) {
      button.setAttribute('aria-pressed', String(button.dataset.sort === this.sort));
    }
    const focused = list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    const questions = this.sorted();
    list.replaceChildren(...questions.map((q) => this.questionItem(q)));
    if (focused) list.querySelector(`[data-focus-key="${focused}"]`)?.focus();
    const visible = questions.filter((q) => q.state === 'visible' || q.state === 'answered').length;
    const waiting = questions.filter((q) => q.state === 'pending').length;
    const count = bound(this.root, 'questions-count');
    if (count) count.textContent = visible || waiting ? `(${visible}${this.host && waiting ? `, ${waiting} waiting` : ''})` : '';
    bound(this.root, 'questions-empty').hidden = questions.length > 0;
  }

  questionItem(question) {
    const me = this.state.me;
    const item = document.createElement('li');
    item.className = `question state-${question.state}`;
    item.classList.toggle('pinned', question.pinned);
    item.classList.toggle('mine', question.author.id === me.id);
    item.dataset.question = question.id;
    item.setAttribute('aria-label', `Question from ${question.author.name}`);

    const head = document.createElement('p');
    head.className = 'q-head';
    const avatar = document.createElement('img');
    avatar.src = question.author.avatar;
    avatar.alt = '';
    avatar.width = 24;
    avatar.height = 24;
    const author = document.createElement('span');
    author.className = 'q-author';
    author.textContent = question.author.id === me.id ? `${question.author.name} (you)` : question.author.name;
    head.append(avatar, author);
    const badges = [question.pinned ? 'Pinned' : null, BADGES[question.state]].filter(Boolean);
    for (const label of badges) {
      const badge = document.createElement('span');
      badge.className = `q-badge ${label.toLowerCase().replaceAll(' ', '-')}`;
      badge.textContent = label;
      head.append(badge);
    }

    const text = document.createElement('p');
    text.className = 'q-text';
    text.textContent = question.text; // never markup

    const actions = document.createElement('div');
    actions.className = 'q-actions';
    const open = question.state === 'visible' || question.state === 'answered';
    const vote = makeButton(`▲ ${question.votes}`, {
      label: `Upvote the question from ${question.author.name}, ${plural(question.votes, 'vote')}`,
    });
    vote.className = 'vote';
    vote.dataset.focusKey = `vote-${question.id}`;
    vote.setAttribute('aria-pressed', String(Boolean(question.voted)));
    vote.disabled = !open || Boolean(question.voted) || !this.canVote;
    vote.addEventListener('click', () => this.vote(question));
    actions.append(vote);
    if (this.host) this.moderation(question, actions);
    item.append(head, text, actions);
    return item;
  }

  moderation(question, actions) {
    const act = (label, type, name = `${label}: question from ${question.author.name}`) => {
      const control = makeButton(label, { label: name });
      control.dataset.focusKey = `${type}-${question.id}`;
      control.addEventListener('click', () => this.command(type, { question: question.id }, 'ask-error'));
      actions.append(control);
    };
    for (const type of question.moves || []) if (MOVE_LABELS[type]) act(MOVE_LABELS[type], type);
    const author = question.author;
    const onStage = this.state.stage.some((a) => a.id === author.id);
    if (this.invite && author.role === 'viewer' && !onStage && author.id !== this.state.me.id) {
      const invite = makeButton('Invite', { label: `Invite ${author.name} on stage` });
      invite.dataset.focusKey = `invite-${question.id}`;
      invite.addEventListener('click', () => this.invite(author));
      actions.append(invite);
    }
  }
}
