// The page's state as static/js/state.js builds it, for tests/participation/test_verify_action.py:
// reads `{"snapshot": ..., "events": [...], "commands": {ref: command}}` on stdin, starts
// from the snapshot (fromSnapshot), applies every frame in order (applyEvent; an ack to
// one of `commands`, the commands this page sent by ref, through applyReply) and prints
// the resulting state as JSON.

import { applyEvent, applyReply, fromSnapshot } from '../../static/js/state.js';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { snapshot, events, commands = {} } = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const state = fromSnapshot(snapshot);
for (const frame of events) {
  if (frame.type === 'ack') {
    const command = commands[frame.ref];
    if (command) applyReply(state, command, frame);
  } else if (frame.type !== 'error') {
    applyEvent(state, frame);
  }
}
process.stdout.write(JSON.stringify(state));
