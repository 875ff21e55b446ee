// Page state: the snapshot, then every event applied to it in order.

export function fromSnapshot(snapshot) {
  return structuredClone(snapshot);
}

function withoutAttendee(list, attendee) {
  return list.filter((item) => item.id !== attendee.id);
}

export function applyEvent(state, event) {
  switch (event.type) {
    case 'broadcast.state':
      state.broadcast.state = event.state;
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
      state.questions = [...state.questions.filter((q) => q.id !== event.question.id), event.question];
      break;
    case 'question.updated':
      state.questions = state.questions.map((q) => (q.id === event.question.id ? event.question : q));
      break;
    default:
      return false;
  }
  return true;
}
