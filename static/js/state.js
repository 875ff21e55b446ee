// Page state: the snapshot, then every event applied to it in order.

export function fromSnapshot(snapshot) {
  return structuredClone(snapshot);
}

// A running broadcast is on air: live, or paused for a moment (the server's rule).
export function isRunning(state) {
  return Boolean(state.broadcast.running);
}

function withoutAttendee(list, attendee) {
  return list.filter((item) => item.id !== attendee.id);
}

// A question event carries what this page may know: the whole question, or only that
// it was withdrawn (hidden). Hosts keep every question; viewers keep public ones and
// their own pending ones. `voted` is this attendee's and survives updates.
// This attendee's votes on questions taken from the page (hidden), for when they come
// back: the server still counts the vote. Kept beside the state, not in it, so the
// state stays what a snapshot says.
const votesOfWithdrawn = new WeakMap();

function withdrawnVotes(state) {
  if (!votesOfWithdrawn.has(state)) votesOfWithdrawn.set(state, new Set());
  return votesOfWithdrawn.get(state);
}

function mergeQuestion(state, question) {
  const old = state.questions.find((q) => q.id === question.id);
  // A question new to this page has no vote of this attendee (the snapshot says
  // `voted: false` for it too), unless it comes back after being taken away.
  const merged = old
    ? { ...old, ...question }
    : { voted: withdrawnVotes(state).has(question.id), ...question };
  const others = state.questions.filter((q) => q.id !== question.id);
  const host = state.me.role === 'host';
  const keep =
    merged.text !== undefined &&
    (host ||
      merged.state === 'visible' ||
      merged.state === 'answered' ||
      (merged.state === 'pending' && merged.author.id === state.me.id));
  if (keep) withdrawnVotes(state).delete(question.id);
  else if (merged.voted) withdrawnVotes(state).add(question.id);
  state.questions = keep ? [...others, merged] : others;
}

export function applyEvent(state, event) {
  switch (event.type) {
    case 'broadcast.state':
      state.broadcast.state = event.state;
      // The server's lifecycle table decides what runs and which moves come next.
      state.broadcast.running = event.running;
      state.broadcast.actions = event.actions;
      if (event.state === 'ended') {
        state.hands = [];
        state.me.request = null;
      }
      if (event.state === 'live' && !state.broadcast.went_live_at) state.broadcast.went_live_at = event.at;
      if (event.state === 'ended') state.broadcast.ended_at = event.at;
      break;
    case 'stage.changed': {
      state.stage = event.stage;
      const mine = event.stage.find((a) => a.id === state.me.id);
      if (mine) state.me.role = mine.role;
      else if (state.me.role === 'speaker') {
        state.me.role = 'viewer';
        state.me.request = null;
      }
      break;
    }
    case 'hand.raised':
      state.hands = [...withoutAttendee(state.hands, event.attendee), event.attendee];
      break;
    case 'hand.lowered':
      state.hands = withoutAttendee(state.hands, event.attendee);
      if (event.attendee.id === state.me.id && state.me.request?.state === 'pending') {
        state.me.request = null;
      }
      break;
    // Private to this attendee: their own request.
    case 'hand.pending':
    case 'hand.approved':
    case 'stage.invited':
      state.me.request = event.request;
      break;
    case 'hand.declined':
      state.me.request = null;
      break;
    case 'audience':
      state.audience = { count: event.count, sample: event.sample };
      break;
    case 'likes':
      state.likes = event.count;
      break;
    case 'question.added':
    case 'question.updated':
      mergeQuestion(state, event.question);
      break;
    case 'rating':
      state.broadcast.rating = { average: event.average, count: event.count };
      break;
    case 'leads':
      state.leads = event.count; // hosts and the dashboard: leads captured so far
      break;
    case 'lead.prompt':
      break; // nothing to keep: the page opens the lead form
    case 'cta':
      state.broadcast.cta = event.cta;
      state.broadcast.cta_pushed_at = event.at;
      break;
    default:
      return false;
  }
  return true;
}

// The reply to a command this page sent: what it says about the page's own state (`me`),
// which no event carries (others learn of a like through the count, never whose it
// was). `command` is the command as sent, `{ type, ...fields }`; `reply` its ack.
export function applyReply(state, command, reply) {
  switch (command.type) {
    case 'hand.raise':
      // hand.pending, before or after this reply, carries the whole request.
      state.me.request = state.me.request || { state: 'pending', invited: false, position: null };
      break;
    case 'hand.cancel':
    case 'invitation.decline':
      state.me.request = null;
      break;
    case 'like':
      state.me.liked = true;
      break;
    case 'rate':
      state.me.rating = reply.stars;
      break;
    case 'question.upvote': {
      const mine = state.questions.find((q) => q.id === command.question);
      if (mine) mine.voted = true;
      break;
    }
    case 'widget.close':
    case 'widget.open':
      state.me.widget_closed = command.type === 'widget.close';
      break;
    case 'lead.submit':
      // A bot that filled the honeypot is thanked like anyone, with no lead back.
      state.me.lead = reply.lead || { name: command.name, email: command.email };
      break;
    default:
      return false;
  }
  return true;
}
