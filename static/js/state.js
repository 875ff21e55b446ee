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
      if (event.state === 'live' && !state.broadcast.went_live_at) state.broadcast.went_live_at = event.at;
      if (event.state === 'ended') state.broadcast.ended_at = event.at;
      break;
    case 'stage.changed':
      state.stage = event.stage;
      break;
    case 'hand.raised':
      state.hands = [...withoutAttendee(state.hands, event.attendee), event.attendee];
      break;
    case 'hand.lowered':
      state.hands = withoutAttendee(state.hands, event.attendee);
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
