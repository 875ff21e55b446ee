// static/js/live.js against a fake WebSocket: the snapshot, events in `seq` order, a
// gap that resyncs with ?epoch=E&since=N, commands matched to replies by `ref` with a
// timeout, the heartbeat, and reconnects with backoff and jitter (DESIGN.md, section 4).
// Timers are node:test's mock timers: no test sleeps.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';

import { LiveError, LiveSocket } from '../../static/js/live.js';

class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static instances = [];

  constructor(url) {
    this.url = url;
    this.readyState = FakeWebSocket.CONNECTING;
    this.sent = [];
    this.closedWith = null;
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    FakeWebSocket.instances.push(this);
  }

  send(text) {
    this.sent.push(JSON.parse(text));
  }

  close(code, reason) {
    this.closedWith = [code, reason];
    this.readyState = FakeWebSocket.CLOSING;
  }

  // What the server and the network do.
  open() {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.();
  }

  frame(data) {
    this.onmessage({ data: typeof data === 'string' ? data : JSON.stringify(data) });
  }

  // The close event: with the code this side closed with, unless told otherwise.
  finishClose(code = this.closedWith?.[0] ?? 1006) {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose({ code });
  }
}

const sockets = FakeWebSocket.instances;

// Let settled promises run their handlers: a real setImmediate, taken before any mocking.
const realSetImmediate = globalThis.setImmediate;
const flush = () => new Promise((resolve) => realSetImmediate(resolve));
const last = () => sockets.at(-1);

function snapshotFrame(fields = {}) {
  return { type: 'snapshot', epoch: 'E1', seq: 5, broadcast: { state: 'live' }, ...fields };
}

// A LiveSocket whose callbacks record what they were given.
function liveSocket(options = {}) {
  const seen = { snapshots: [], events: [], statuses: [] };
  const socket = new LiveSocket('/ws/broadcasts/demo/', {
    onSnapshot: (frame) => seen.snapshots.push(frame),
    onEvent: (frame) => seen.events.push(frame),
    onStatus: (status) => seen.statuses.push(status),
    ...options,
  });
  return { socket, seen };
}

// Connected, open, and past its first snapshot (epoch E1, seq 5).
function connected(options) {
  const made = liveSocket(options);
  made.socket.connect();
  last().open();
  last().frame(snapshotFrame());
  return made;
}

beforeEach(() => {
  sockets.length = 0;
  globalThis.WebSocket = FakeWebSocket;
  globalThis.window = new EventTarget();
  globalThis.location = { protocol: 'http:', host: 'live.test:8000' };
  const apis = ['setTimeout', 'setInterval'];
  try {
    mock.timers.enable({ apis });
  } catch {
    mock.timers.enable(apis); // Node 18 (Debian bookworm's nodejs) takes only the list
  }
});

afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
});

describe('connecting', () => {
  test('opens the page address with ws:, or wss: behind https, and the params', () => {
    const { socket, seen } = liveSocket();
    socket.connect();
    assert.equal(last().url, 'ws://live.test:8000/ws/broadcasts/demo/');
    assert.deepEqual(seen.statuses, ['connecting']);

    globalThis.location = { protocol: 'https:', host: 'live.example.com' };
    const widget = liveSocket({ params: { guest: 'tok en' } }).socket;
    widget.connect();
    assert.equal(last().url, 'wss://live.example.com/ws/broadcasts/demo/?guest=tok+en');
  });

  test('the snapshot sets epoch and seq and reaches onSnapshot', () => {
    const { socket, seen } = connected();
    assert.equal(socket.epoch, 'E1');
    assert.equal(socket.seq, 5);
    assert.equal(seen.snapshots.length, 1);
    assert.equal(seen.snapshots[0].broadcast.state, 'live');
    assert.deepEqual(seen.statuses, ['connecting', 'connected']);
    assert.deepEqual(seen.events, []);
  });

  test('a frame that is not JSON is ignored', () => {
    const { socket, seen } = connected();
    last().frame('{not json');
    assert.deepEqual(seen.events, []);
    assert.equal(socket.seq, 5);
  });
});

describe('events in seq order', () => {
  test('the next seq is applied; older or repeated ones are dropped', () => {
    const { socket, seen } = connected();
    last().frame({ type: 'likes', seq: 6, count: 1 });
    last().frame({ type: 'likes', seq: 7, count: 2 });
    last().frame({ type: 'likes', seq: 7, count: 2 });
    last().frame({ type: 'likes', seq: 3, count: 0 });
    assert.deepEqual(
      seen.events.map((e) => e.seq),
      [6, 7],
    );
    assert.equal(socket.seq, 7);
    assert.equal(sockets.length, 1);
  });

  test('private events have no seq: they pass through and leave seq alone', () => {
    const { socket, seen } = connected();
    last().frame({ type: 'hand.pending', request: { state: 'pending' } });
    assert.deepEqual(
      seen.events.map((e) => e.type),
      ['hand.pending'],
    );
    assert.equal(socket.seq, 5);
  });

  test('a gap closes the socket and reconnects at once asking for what was missed', () => {
    const { socket, seen } = connected();
    last().frame({ type: 'likes', seq: 6, count: 1 });
    last().frame({ type: 'likes', seq: 8, count: 3 });
    assert.deepEqual(
      seen.events.map((e) => e.seq),
      [6],
      'the frame after the gap is not applied',
    );
    assert.equal(socket.seq, 6);
    assert.deepEqual(sockets[0].closedWith, [4000, 'resync']);

    sockets[0].finishClose();
    assert.equal(sockets.length, 1, 'the reconnect is a timer, with no delay');
    mock.timers.tick(0);
    assert.equal(sockets.length, 2);
    assert.equal(last().url, 'ws://live.test:8000/ws/broadcasts/demo/?epoch=E1&since=6');
    assert.deepEqual(seen.statuses.slice(-2), ['reconnecting', 'reconnecting']);

    // The server replays 7 and 8, then live events follow.
    last().open();
    last().frame({ type: 'likes', seq: 7, count: 2 });
    last().frame({ type: 'likes', seq: 8, count: 3 });
    last().frame({ type: 'likes', seq: 9, count: 4 });
    assert.deepEqual(
      seen.events.map((e) => e.seq),
      [6, 7, 8, 9],
    );
    assert.equal(seen.statuses.at(-1), 'connected');
    assert.equal(socket.attempt, 0);
  });

  test('the params are kept beside epoch and since', () => {
    connected({ params: { guest: 'g1' } });
    last().frame({ type: 'likes', seq: 9, count: 1 });
    last().finishClose();
    mock.timers.tick(0);
    assert.equal(last().url, 'ws://live.test:8000/ws/broadcasts/demo/?guest=g1&epoch=E1&since=5');
  });

  test('a fresh snapshot after a resync replaces epoch and seq', () => {
    const { socket, seen } = connected();
    last().frame({ type: 'likes', seq: 9, count: 1 });
    last().finishClose();
    mock.timers.tick(0);
    last().open();
    last().frame(snapshotFrame({ epoch: 'E2', seq: 2 }));
    assert.equal(seen.snapshots.length, 2);
    assert.equal(socket.epoch, 'E2');
    assert.equal(socket.seq, 2);
    last().frame({ type: 'likes', seq: 3, count: 1 });
    assert.deepEqual(
      seen.events.map((e) => e.seq),
      [3],
    );
  });
});

describe('commands', () => {
  test('are sent with their type, fields and a new ref each', () => {
    const { socket } = connected();
    socket.send('question.ask', { text: 'Hello?' });
    socket.send('like');
    assert.deepEqual(last().sent, [
      { type: 'question.ask', text: 'Hello?', ref: '1' },
      { type: 'like', ref: '2' },
    ]);
  });

  test('the fields cannot override type or ref', () => {
    const { socket } = connected();
    socket.send('like', { type: 'broadcast.end', ref: 'mine' });
    assert.deepEqual(last().sent, [{ type: 'like', ref: '1' }]);
  });

  test('an ack resolves with the reply; replies are matched by ref, in any order', async () => {
    const { socket, seen } = connected();
    const first = socket.send('rate', { stars: 4 });
    const second = socket.send('like');
    last().frame({ type: 'ack', ref: '2' });
    last().frame({ type: 'ack', ref: '1', stars: 4 });
    assert.deepEqual(await first, { type: 'ack', ref: '1', stars: 4 });
    assert.deepEqual(await second, { type: 'ack', ref: '2' });
    assert.deepEqual(seen.events, [], 'replies are not events');
    assert.equal(socket.pending.size, 0);
  });

  test('an error reply rejects with a LiveError carrying code, message and details', async () => {
    const { socket } = connected();
    const reply = socket.send('lead.submit', { email: 'nope' });
    last().frame({
      type: 'error',
      ref: '1',
      code: 'invalid',
      message: 'Check the form.',
      details: { email: ['Enter a valid email address.'] },
    });
    const error = await reply.then(
      () => assert.fail('resolved'),
      (e) => e,
    );
    assert.ok(error instanceof LiveError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, 'invalid');
    assert.equal(error.message, 'Check the form.');
    assert.deepEqual(error.details, { email: ['Enter a valid email address.'] });
  });

  test('a reply nobody waits for is ignored', () => {
    const { seen } = connected();
    last().frame({ type: 'ack', ref: '77' });
    last().frame({ type: 'error', ref: '78', code: 'invalid', message: 'x' });
    assert.deepEqual(seen.events, []);
  });

  test('without an open socket a command fails at once as offline, and nothing is sent', async () => {
    const { socket } = liveSocket();
    await assert.rejects(socket.send('like'), { name: 'Error', code: 'offline', message: 'Not connected. Trying again…' });
    socket.connect(); // still CONNECTING
    await assert.rejects(socket.send('like'), { code: 'offline' });
    assert.deepEqual(last().sent, []);
  });

  test('a command unanswered for 10 s times out, and a late ack changes nothing', async () => {
    const { socket } = connected();
    let outcome = null;
    const reply = socket.send('hand.raise').then(
      () => (outcome = 'resolved'),
      (error) => (outcome = error),
    );
    mock.timers.tick(9999);
    await flush();
    assert.equal(outcome, null);
    mock.timers.tick(1);
    await flush();
    assert.ok(outcome instanceof LiveError, 'rejected after exactly 10 s');
    assert.equal(outcome.code, 'timeout');
    assert.equal(outcome.message, 'The server did not answer in time.');
    assert.equal(socket.pending.size, 0);
    last().frame({ type: 'ack', ref: '1' });
    assert.ok(outcome instanceof LiveError);
  });

  test('an answered command does not time out later', async () => {
    const { socket } = connected();
    const reply = socket.send('like');
    last().frame({ type: 'ack', ref: '1' });
    await reply;
    mock.timers.tick(60000); // heartbeats go out, but no timeout for ref 1
    assert.equal(socket.pending.has('1'), false);
  });

  test('commands waiting when the connection drops fail as offline', async () => {
    const { socket } = connected();
    const reply = socket.send('question.ask', { text: 'Still there?' });
    last().finishClose(1006);
    await assert.rejects(reply, { code: 'offline', message: 'The connection was lost.' });
    assert.equal(socket.pending.size, 0);
  });
});

describe('heartbeat', () => {
  test('pings every 20 s once open', () => {
    connected();
    assert.deepEqual(last().sent, []);
    mock.timers.tick(20000);
    assert.deepEqual(last().sent, [{ type: 'ping', ref: '1' }]);
    last().frame({ type: 'ack', ref: '1' });
    mock.timers.tick(20000);
    assert.deepEqual(
      last().sent.map((f) => f.ref),
      ['1', '2'],
    );
  });

  test('a ping left unanswered makes the socket reconnect', async () => {
    connected();
    mock.timers.tick(20000);
    mock.timers.tick(10000); // the ping's timeout
    await flush(); // let the rejection run
    assert.deepEqual(sockets[0].closedWith, [4000, 'resync']);
    sockets[0].finishClose();
    mock.timers.tick(0);
    assert.equal(sockets.length, 2);
    assert.equal(last().url, 'ws://live.test:8000/ws/broadcasts/demo/?epoch=E1&since=5');
  });

  test('stops with the connection', () => {
    connected();
    last().finishClose(1006);
    const first = sockets[0];
    mock.timers.tick(20000);
    assert.deepEqual(first.sent, []);
  });
});

describe('reconnecting', () => {
  test('after a drop, waits a jittered backoff that doubles up to 20 s', () => {
    mock.method(Math, 'random', () => 0); // the shortest wait: half the ceiling
    const { seen } = connected();
    const waits = [];
    for (let i = 0; i < 8; i += 1) {
      const before = sockets.length;
      last().finishClose(1006);
      let waited = 0;
      while (sockets.length === before) {
        mock.timers.tick(50);
        waited += 50;
      }
      waits.push(waited);
    }
    // Ceilings 500, 1000, 2000 ... 20000 ms; Math.random() = 0 waits half of each.
    assert.deepEqual(waits, [250, 500, 1000, 2000, 4000, 8000, 10000, 10000]);
    assert.equal(seen.statuses.at(-1), 'reconnecting');
  });

  test('the jitter spreads the wait between half and all of the ceiling', () => {
    const { socket } = liveSocket();
    socket.attempt = 3; // ceiling 4000 ms
    mock.method(Math, 'random', () => 0);
    assert.equal(socket.backoff(), 2000);
    mock.method(Math, 'random', () => 0.5);
    assert.equal(socket.backoff(), 3000);
    mock.method(Math, 'random', () => 0.999999);
    assert.equal(socket.backoff(), 4000);
    socket.attempt = 30;
    assert.equal(socket.backoff(), 20000);
  });

  test('the first frame of a new connection resets the backoff', () => {
    mock.method(Math, 'random', () => 0);
    const { socket, seen } = connected();
    last().finishClose(1006);
    mock.timers.tick(250);
    last().finishClose(1006);
    mock.timers.tick(500);
    assert.equal(socket.attempt, 2);
    last().open();
    last().frame({ type: 'likes', seq: 6, count: 1 });
    assert.equal(socket.attempt, 0);
    assert.equal(seen.statuses.at(-1), 'connected');
    last().finishClose(1006);
    assert.equal(sockets.length, 3);
    mock.timers.tick(249);
    assert.equal(sockets.length, 3);
    mock.timers.tick(1);
    assert.equal(sockets.length, 4);
  });

  test('4403 (removed from the broadcast) does not come back', () => {
    const { socket, seen } = connected();
    last().finishClose(4403);
    mock.timers.tick(60000);
    assert.equal(sockets.length, 1);
    assert.equal(socket.stopped, true);
    assert.equal(seen.statuses.at(-1), 'removed');
  });

  test('going back online reconnects at once', () => {
    mock.method(Math, 'random', () => 0);
    connected();
    last().finishClose(1006); // a backoff of 250 ms starts
    window.dispatchEvent(new Event('online'));
    assert.equal(sockets.length, 2, 'no need to wait for the backoff');
    // The pending backoff is cancelled: no third connection follows.
    mock.timers.tick(1000);
    assert.equal(sockets.length, 2);
  });

  test('online while connected resyncs the open socket', () => {
    connected();
    window.dispatchEvent(new Event('online'));
    assert.deepEqual(sockets[0].closedWith, [4000, 'resync']);
  });

  test('the close of a socket already replaced is ignored', () => {
    const { seen } = connected();
    const old = sockets[0];
    last().frame({ type: 'likes', seq: 9, count: 1 }); // gap: resync
    old.finishClose();
    mock.timers.tick(0);
    const statuses = seen.statuses.length;
    old.onclose({ code: 1006 }); // a second close event for the old socket
    mock.timers.tick(60000);
    assert.equal(sockets.length, 2);
    assert.equal(seen.statuses.length, statuses);
  });

  test('stop() closes for good', () => {
    const { socket } = connected();
    socket.stop();
    assert.deepEqual(last().closedWith, [1000, 'bye']);
    last().finishClose();
    window.dispatchEvent(new Event('online'));
    mock.timers.tick(60000);
    assert.equal(sockets.length, 1);
  });
});
