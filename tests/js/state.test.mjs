// static/js/state.js: a page's state is its first snapshot with every later event
// applied in order (the protocol in DESIGN.md, section 4).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { applyEvent, applyReply, fromSnapshot, isRunning } from '../../static/js/state.js';

const host = { id: 1, name: 'Hana Host', role: 'host', avatar: '/a/1.svg' };
const vera = { id: 2, name: 'Vera Viewer', role: 'viewer', avatar: '/a/2.svg' };
const sam = { id: 3, name: 'Sam Speaker', role: 'speaker', avatar: '/a/3.svg' };
const olga = { id: 4, name: 'Olga Other', role: 'viewer', avatar: '/a/4.svg' };

// What the server sends with each state (its lifecycle table, written out by hand here).
const RULES = {
  draft: { running: false, actions: ['broadcast.start'] },
  scheduled: { running: false, actions: ['broadcast.start'] },
  live: { running: true, actions: ['broadcast.pause', 'broadcast.end'] },
  paused: { running: true, actions: ['broadcast.resume', 'broadcast.end'] },
  ended: { running: false, actions: [] },
};

function stateEvent(state, at) {
  return { type: 'broadcast.state', state, ...RULES[state], at };
}

function snapshot({ me = vera, ...rest } = {}) {
  return {
    type: 'snapshot',
    epoch: 'e1',
    seq: 7,
    broadcast: { state: 'live', ...RULES.live, went_live_at: '2025-01-01T10:00:00Z', ended_at: null, rating: null },
    me: { ...me, request: null, liked: false, rating: null, widget_closed: false },
    stage: [host],
    hands: [],
    audience: { count: 3, sample: [host, vera, olga] },
    likes: 0,
    questions: [],
    media: { backend: 'mesh' },
    ...rest,
  };
}

function question(fields) {
  return {
    id: 10,
    text: 'Will it be recorded?',
    state: 'visible',
    votes: 0,
    pinned: false,
    author: olga,
    created_at: '2025-01-01T10:05:00Z',
    ...fields,
  };
}

describe('fromSnapshot', () => {
  test('copies the snapshot deeply, so applying events leaves the frame alone', () => {
    const frame = snapshot();
    const state = fromSnapshot(frame);
    assert.deepEqual(state, frame);
    applyEvent(state, { type: 'hand.raised', attendee: olga });
    state.broadcast.state = 'paused';
    assert.deepEqual(frame.hands, []);
    assert.equal(frame.broadcast.state, 'live');
  });
});

describe('applyEvent', () => {
  test('an unknown event returns false and changes nothing', () => {
    const state = fromSnapshot(snapshot());
    const before = structuredClone(state);
    assert.equal(applyEvent(state, { type: 'poll.opened', poll: { id: 1 } }), false);
    assert.equal(applyEvent(state, { type: 'rtc.signal', from: 1, data: {} }), false);
    assert.deepEqual(state, before);
  });

  test('every handled event returns true', () => {
    const events = [
      stateEvent('paused', 'x'),
      { type: 'stage.changed', stage: [host] },
      { type: 'hand.raised', attendee: olga },
      { type: 'hand.lowered', attendee: olga },
      { type: 'hand.pending', request: { state: 'pending' } },
      { type: 'hand.approved', request: { state: 'approved' } },
      { type: 'stage.invited', request: { state: 'pending', invited: true } },
      { type: 'hand.declined' },
      { type: 'audience', count: 1, sample: [] },
      { type: 'likes', count: 1 },
      { type: 'question.added', question: question() },
      { type: 'question.updated', question: question() },
      { type: 'rating', average: 4, count: 1 },
      { type: 'leads', count: 1 },
      { type: 'lead.prompt' },
      { type: 'cta', cta: { label: 'Buy' }, at: 'x' },
    ];
    const state = fromSnapshot(snapshot());
    for (const event of events) assert.equal(applyEvent(state, event), true, event.type);
  });

  describe('broadcast.state', () => {
    test('pause and resume change only the state', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'hand.raised', attendee: olga });
      applyEvent(state, stateEvent('paused', '2025-01-01T10:30:00Z'));
      assert.equal(state.broadcast.state, 'paused');
      assert.equal(state.broadcast.running, true);
      assert.deepEqual(state.broadcast.actions, ['broadcast.resume', 'broadcast.end']);
      assert.equal(state.broadcast.went_live_at, '2025-01-01T10:00:00Z');
      assert.equal(state.broadcast.ended_at, null);
      assert.deepEqual(state.hands, [olga]);
    });

    test('going live the first time records when; later goes live keep the first time', () => {
      const state = fromSnapshot(snapshot());
      state.broadcast = { state: 'scheduled', ...RULES.scheduled, went_live_at: null, ended_at: null };
      applyEvent(state, stateEvent('live', '2025-01-01T11:00:00Z'));
      assert.equal(state.broadcast.went_live_at, '2025-01-01T11:00:00Z');
      applyEvent(state, stateEvent('paused', '2025-01-01T11:10:00Z'));
      applyEvent(state, stateEvent('live', '2025-01-01T11:20:00Z'));
      assert.equal(state.broadcast.went_live_at, '2025-01-01T11:00:00Z');
    });

    test('ending clears the raised hands and my request, and records when', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'hand.raised', attendee: vera });
      applyEvent(state, { type: 'hand.pending', request: { state: 'pending', position: 1 } });
      applyEvent(state, stateEvent('ended', '2025-01-01T12:00:00Z'));
      assert.equal(state.broadcast.state, 'ended');
      assert.equal(state.broadcast.running, false);
      assert.deepEqual(state.broadcast.actions, []);
      assert.deepEqual(state.hands, []);
      assert.equal(state.me.request, null);
      assert.equal(state.broadcast.ended_at, '2025-01-01T12:00:00Z');
    });
  });

  describe('stage.changed', () => {
    test('replaces the stage and takes my role from it', () => {
      const state = fromSnapshot(snapshot());
      state.me.request = { state: 'approved' };
      const me = { ...vera, role: 'speaker' };
      applyEvent(state, { type: 'stage.changed', stage: [host, me] });
      assert.deepEqual(state.stage, [host, me]);
      assert.equal(state.me.role, 'speaker');
      assert.deepEqual(state.me.request, { state: 'approved' });
    });

    test('a speaker left off the stage is a viewer again, without a request', () => {
      const state = fromSnapshot(snapshot({ me: { ...vera, role: 'speaker' } }));
      state.me.request = { state: 'approved' };
      applyEvent(state, { type: 'stage.changed', stage: [host] });
      assert.equal(state.me.role, 'viewer');
      assert.equal(state.me.request, null);
    });

    test('a viewer or a host off the stage keeps role and request', () => {
      const viewer = fromSnapshot(snapshot());
      viewer.me.request = { state: 'pending' };
      applyEvent(viewer, { type: 'stage.changed', stage: [host, sam] });
      assert.equal(viewer.me.role, 'viewer');
      assert.deepEqual(viewer.me.request, { state: 'pending' });

      const console = fromSnapshot(snapshot({ me: host }));
      applyEvent(console, { type: 'stage.changed', stage: [sam] });
      assert.equal(console.me.role, 'host');
      assert.deepEqual(console.stage, [sam]);
    });
  });

  describe('hands', () => {
    test('hand.raised appends, and is idempotent for the same attendee', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'hand.raised', attendee: olga });
      applyEvent(state, { type: 'hand.raised', attendee: vera });
      applyEvent(state, { type: 'hand.raised', attendee: vera });
      assert.deepEqual(
        state.hands.map((a) => a.id),
        [olga.id, vera.id],
      );
    });

    test('raised again, a hand goes to the back of the queue', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'hand.raised', attendee: olga });
      applyEvent(state, { type: 'hand.raised', attendee: vera });
      applyEvent(state, { type: 'hand.raised', attendee: { ...olga, name: 'Olga O.' } });
      assert.deepEqual(
        state.hands.map((a) => [a.id, a.name]),
        [
          [vera.id, vera.name],
          [olga.id, 'Olga O.'],
        ],
      );
    });

    test('hand.lowered removes the attendee; lowering an absent hand changes nothing', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'hand.raised', attendee: olga });
      applyEvent(state, { type: 'hand.lowered', attendee: olga });
      assert.deepEqual(state.hands, []);
      applyEvent(state, { type: 'hand.lowered', attendee: olga });
      assert.deepEqual(state.hands, []);
    });

    test('my own hand lowered ends my pending request, not an approved one', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'hand.raised', attendee: vera });
      applyEvent(state, { type: 'hand.pending', request: { state: 'pending', position: 1 } });
      applyEvent(state, { type: 'hand.lowered', attendee: olga });
      assert.deepEqual(state.me.request, { state: 'pending', position: 1 });
      applyEvent(state, { type: 'hand.lowered', attendee: vera });
      assert.equal(state.me.request, null);

      applyEvent(state, { type: 'hand.approved', request: { state: 'approved' } });
      applyEvent(state, { type: 'hand.lowered', attendee: vera });
      assert.deepEqual(state.me.request, { state: 'approved' });
    });

    test('the private request events set or clear my request', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'hand.pending', request: { state: 'pending', position: 2 } });
      assert.deepEqual(state.me.request, { state: 'pending', position: 2 });
      applyEvent(state, { type: 'hand.approved', request: { state: 'approved' } });
      assert.deepEqual(state.me.request, { state: 'approved' });
      applyEvent(state, { type: 'hand.declined' });
      assert.equal(state.me.request, null);
      const invitation = { state: 'pending', invited: true, invited_by: 'Hana Host' };
      applyEvent(state, { type: 'stage.invited', request: invitation });
      assert.deepEqual(state.me.request, invitation);
      assert.deepEqual(state.hands, []); // private events leave the public queue alone
    });
  });

  test('audience, likes, rating, leads and cta replace their values', () => {
    const state = fromSnapshot(snapshot());
    applyEvent(state, { type: 'audience', count: 42, sample: [olga], extra: 'ignored' });
    assert.deepEqual(state.audience, { count: 42, sample: [olga] });
    applyEvent(state, { type: 'likes', count: 9 });
    applyEvent(state, { type: 'likes', count: 5 }); // the server's count wins, even lower
    assert.equal(state.likes, 5);
    applyEvent(state, { type: 'rating', average: 4.5, count: 2 });
    assert.deepEqual(state.broadcast.rating, { average: 4.5, count: 2 });
    applyEvent(state, { type: 'leads', count: 3 });
    assert.equal(state.leads, 3);
    const cta = { label: 'Get the deck', url: 'https://example.com/deck', headline: 'Slides' };
    applyEvent(state, { type: 'cta', cta, at: '2025-01-01T10:40:00Z' });
    assert.deepEqual(state.broadcast.cta, cta);
    assert.equal(state.broadcast.cta_pushed_at, '2025-01-01T10:40:00Z');
  });

  test('lead.prompt is handled but keeps nothing', () => {
    const state = fromSnapshot(snapshot());
    const before = structuredClone(state);
    assert.equal(applyEvent(state, { type: 'lead.prompt' }), true);
    assert.deepEqual(state, before);
  });

  describe('questions', () => {
    test('a viewer keeps visible and answered questions; an update merges and keeps my vote', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'question.added', question: question({ id: 10 }) });
      applyEvent(state, { type: 'question.added', question: question({ id: 11, state: 'answered' }) });
      state.questions[0].voted = true;
      applyEvent(state, { type: 'question.updated', question: { ...question({ id: 10 }), votes: 3, pinned: true } });
      const q10 = state.questions.find((q) => q.id === 10);
      assert.equal(q10.votes, 3);
      assert.equal(q10.pinned, true);
      assert.equal(q10.voted, true);
      // A question new to the page: not voted for yet.
      assert.equal(state.questions.find((q) => q.id === 11).voted, false);
      assert.equal(state.questions.length, 2);
      // The updated question moves to the end: the page sorts them itself.
      assert.deepEqual(
        state.questions.map((q) => q.id),
        [11, 10],
      );
    });

    test('my vote comes back with a question that was hidden and shown again', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'question.added', question: question({ id: 10 }) });
      applyEvent(state, { type: 'question.added', question: question({ id: 11 }) });
      state.questions.find((q) => q.id === 10).voted = true;
      for (const id of [10, 11]) {
        applyEvent(state, { type: 'question.updated', question: { id, state: 'hidden', pinned: false } });
      }
      assert.deepEqual(state.questions, []);
      for (const id of [10, 11]) {
        applyEvent(state, { type: 'question.updated', question: question({ id, votes: 1 }) });
      }
      const voted = Object.fromEntries(state.questions.map((q) => [q.id, q.voted]));
      assert.deepEqual(voted, { 10: true, 11: false });
      // The vote kept aside is not part of the state a snapshot would give.
      assert.deepEqual(Object.keys(state).sort(), Object.keys(snapshot()).sort());
    });

    test('the same event twice leaves one question', () => {
      const state = fromSnapshot(snapshot());
      const event = { type: 'question.added', question: question() };
      applyEvent(state, event);
      applyEvent(state, event);
      assert.equal(state.questions.length, 1);
    });

    test("a viewer keeps their own pending question, not someone else's", () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'question.added', question: question({ id: 20, state: 'pending', author: vera }) });
      applyEvent(state, { type: 'question.added', question: question({ id: 21, state: 'pending', author: olga }) });
      assert.deepEqual(
        state.questions.map((q) => q.id),
        [20],
      );
    });

    test('a viewer drops a question that is hidden, even their own', () => {
      const state = fromSnapshot(snapshot());
      applyEvent(state, { type: 'question.added', question: question({ id: 10 }) });
      applyEvent(state, { type: 'question.added', question: question({ id: 12, author: vera }) });
      applyEvent(state, { type: 'question.updated', question: { ...question({ id: 10 }), state: 'hidden' } });
      applyEvent(state, { type: 'question.updated', question: { ...question({ id: 12, author: vera }), state: 'hidden' } });
      assert.deepEqual(state.questions, []);
    });

    test('a withdrawal (id and state only) merges into the question this page knows', () => {
      const console = fromSnapshot(snapshot({ me: host }));
      applyEvent(console, { type: 'question.added', question: question({ id: 10 }) });
      applyEvent(console, { type: 'question.updated', question: { id: 10, state: 'hidden' } });
      assert.deepEqual(
        console.questions.map((q) => [q.id, q.state, q.text]),
        [[10, 'hidden', 'Will it be recorded?']],
      );
      const viewer = fromSnapshot(snapshot());
      applyEvent(viewer, { type: 'question.added', question: question({ id: 10 }) });
      applyEvent(viewer, { type: 'question.updated', question: { id: 10, state: 'hidden' } });
      assert.deepEqual(viewer.questions, []);
    });

    test('a question without text that this page never had is not kept, by the host either', () => {
      const state = fromSnapshot(snapshot({ me: host }));
      assert.equal(applyEvent(state, { type: 'question.updated', question: { id: 99, state: 'hidden' } }), true);
      assert.deepEqual(state.questions, []);
    });

    test('the host keeps every question with its text, whatever its state', () => {
      const state = fromSnapshot(snapshot({ me: host }));
      for (const [id, questionState] of [
        [1, 'pending'],
        [2, 'visible'],
        [3, 'answered'],
        [4, 'hidden'],
      ]) {
        applyEvent(state, { type: 'question.added', question: question({ id, state: questionState }) });
      }
      assert.deepEqual(
        state.questions.map((q) => [q.id, q.state]),
        [
          [1, 'pending'],
          [2, 'visible'],
          [3, 'answered'],
          [4, 'hidden'],
        ],
      );
    });
  });

  test('the events a viewer received, applied in order, give the state of a later snapshot', () => {
    const state = fromSnapshot(snapshot());
    const events = [
      { type: 'hand.raised', attendee: olga },
      { type: 'hand.raised', attendee: vera },
      { type: 'hand.pending', request: { state: 'pending', position: 2 } },
      { type: 'hand.lowered', attendee: olga },
      { type: 'stage.changed', stage: [host, { ...olga, role: 'speaker' }] },
      { type: 'likes', count: 2 },
      { type: 'audience', count: 4, sample: [host, vera, olga, sam] },
      stateEvent('paused', '2025-01-01T10:20:00Z'),
    ];
    for (const event of events) applyEvent(state, event);
    const later = snapshot({
      stage: [host, { ...olga, role: 'speaker' }],
      hands: [vera],
      audience: { count: 4, sample: [host, vera, olga, sam] },
      likes: 2,
    });
    Object.assign(later.broadcast, { state: 'paused', ...RULES.paused });
    later.me.request = { state: 'pending', position: 2 };
    assert.deepEqual(state, later);
  });
});

describe('applyReply', () => {
  test("the replies to this page's own commands set its own state", () => {
    const state = fromSnapshot(snapshot({ questions: [question({ id: 10, voted: false })] }));
    assert.equal(applyReply(state, { type: 'like' }, { type: 'ack', ref: '1', liked: true }), true);
    applyReply(state, { type: 'rate', stars: 4 }, { type: 'ack', ref: '2', stars: 4 });
    applyReply(state, { type: 'question.upvote', question: 10 }, { type: 'ack', ref: '3', votes: 1 });
    applyReply(state, { type: 'widget.close' }, { type: 'ack', ref: '4' });
    const lead = { name: 'Vera', email: 'vera@example.com', phone: '', company: '' };
    const submit = { type: 'lead.submit', name: 'Vera', email: 'vera@example.com', consent: true };
    applyReply(state, submit, { type: 'ack', ref: '5', lead });
    assert.deepEqual(
      [state.me.liked, state.me.rating, state.questions[0].voted, state.me.widget_closed, state.me.lead],
      [true, 4, true, true, lead],
    );
    applyReply(state, { type: 'widget.open' }, { type: 'ack', ref: '6' });
    assert.equal(state.me.widget_closed, false);
  });

  test('a raised hand waits for hand.pending, whichever comes first', () => {
    const early = fromSnapshot(snapshot());
    applyReply(early, { type: 'hand.raise' }, { type: 'ack', ref: '1' });
    applyEvent(early, { type: 'hand.pending', request: { id: 5, state: 'pending', position: 1 } });
    const late = fromSnapshot(snapshot());
    applyEvent(late, { type: 'hand.pending', request: { id: 5, state: 'pending', position: 1 } });
    applyReply(late, { type: 'hand.raise' }, { type: 'ack', ref: '1' });
    assert.deepEqual(early.me.request, { id: 5, state: 'pending', position: 1 });
    assert.deepEqual(late.me.request, early.me.request);
    applyReply(late, { type: 'hand.cancel' }, { type: 'ack', ref: '2' });
    assert.equal(late.me.request, null);
  });

  test('a reply that says nothing about this page returns false and changes nothing', () => {
    const state = fromSnapshot(snapshot());
    const before = structuredClone(state);
    assert.equal(applyReply(state, { type: 'question.ask', text: 'Hi' }, { type: 'ack', ref: '1' }), false);
    assert.deepEqual(state, before);
  });
});

describe('isRunning', () => {
  test("is the server's word, whatever the state's name", () => {
    assert.equal(isRunning({ broadcast: { state: 'live', running: true } }), true);
    assert.equal(isRunning({ broadcast: { state: 'paused', running: true } }), true);
    assert.equal(isRunning({ broadcast: { state: 'live', running: false } }), false);
    assert.equal(isRunning({ broadcast: { state: 'ended' } }), false);
  });

  test('follows the broadcast through its states', () => {
    const state = fromSnapshot(snapshot());
    const seen = ['paused', 'live', 'ended'].map((current) => {
      applyEvent(state, stateEvent(current, 'x'));
      return isRunning(state);
    });
    assert.deepEqual(seen, [true, true, false]);
  });
});
