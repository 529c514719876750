// The browser example's page (examples/browser): loads this browser's key (BrowserIdentity, kept in
// IndexedDB), dials the server it came from over WebSocket with the server's key pinned, and shows a
// ticker (an Observable) and a chat room (calls and an Observable). A key the server does not know
// gets the development enrol form, or the line to add to authorized_keys. Text from the server only
// ever goes into textContent. `document.body.dataset.state` says where the page is, for the spec:
// starting, enrol, connecting, connected, lost, failed.
import { ActorSystem, BrowserIdentity, isRpcError } from '/rxchan.js';

const $ = (id) => document.getElementById(id);
/** Wait between attempts to (re)connect, ms, and how many attempts before asking for a reload. */
const RETRY_MS = 2_000;
const MAX_RETRIES = 30;

const token = takeEnrolToken();
let identity;
let config;
let ticker;
let chat;
let live = [];
let generation = 0;
let updates = 0;

/** The enrolment token from `#enrol=...` (kept for this tab, and taken out of the address bar). */
function takeEnrolToken() {
  const m = /^#enrol=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('enrol', m[1]);
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem('enrol');
}

function setState(state, text) {
  document.body.dataset.state = state;
  const status = $('status');
  status.textContent = text;
  status.className = `status ${state === 'connected' ? 'connected' : state === 'connecting' ? 'connecting' : 'failed'}`;
}

function problem(text) {
  $('problem').hidden = text === undefined;
  $('problem').textContent = text ?? '';
}

function described(err) {
  if (!isRpcError(err)) return String(err?.message ?? err);
  const why = err.cause?.remoteCode ?? err.cause?.code;
  return `${err.code}${why ? ` (${why})` : ''}`;
}

async function main() {
  setState('starting', 'loading the key…');
  identity = await BrowserIdentity.load('rxchan-example');
  $('key-id').textContent = identity.id;
  $('kind').textContent =
    `(${identity.kind}, ${identity.persisted ? 'kept in IndexedDB' : 'in memory only'})`;
  $('key-line').textContent = `${identity.id} your-name`;
  config = await (await fetch('/config.json')).json();
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // The server's key is pinned: a server without it fails the handshake (SERVER_KEY_MISMATCH).
  const peer = { url: `${scheme}//${location.host}${config.path}`, key: config.serverKey };
  const system = new ActorSystem({ identity, onError: (err) => console.warn('rxchan:', err) });
  ticker = system.ref('ticker', peer);
  chat = system.ref('chat', peer);
  $('enrol').addEventListener('submit', (e) => {
    e.preventDefault();
    enrol($('name').value.trim());
  });
  $('post').addEventListener('submit', (e) => {
    e.preventDefault();
    post($('text').value);
  });
  await connect(0);
}

/** One call to learn our name: it dials, runs the key handshake, and says whether we are enrolled. */
async function connect(attempt) {
  setState('connecting', 'connecting…');
  let name;
  try {
    name = await chat.me();
  } catch (err) {
    if (isRpcError(err) && err.code === 'UNAUTHENTICATED' && err.cause?.remoteCode === 'UNKNOWN_KEY') {
      needsEnrolment();
    } else if (attempt < MAX_RETRIES) {
      setState('lost', `${described(err)}: trying again`);
      setTimeout(() => connect(attempt + 1), RETRY_MS);
    } else {
      setState('failed', `${described(err)}: reload to try again`);
    }
    return;
  }
  connected(name);
}

function needsEnrolment() {
  setState('enrol', 'not enrolled');
  $('who').textContent = 'The server does not know this key yet.';
  if (config.devEnrol && token) {
    $('enrol').hidden = false;
    $('name').focus();
  } else if (config.devEnrol) {
    problem('Open the URL the server printed: it carries the enrolment token.');
  } else {
    $('enrol-by-hand').hidden = false;
  }
}

async function enrol(name) {
  problem(undefined);
  $('enrol-button').disabled = true;
  try {
    const res = await fetch('/enrol', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: identity.id, name, token }),
    });
    const body = await res.json();
    if (!res.ok) return problem(`enrolment refused: ${body.error}`);
    $('enrol').hidden = true;
    await connect(0);
  } catch (err) {
    problem(`enrolment failed: ${err}`);
  } finally {
    $('enrol-button').disabled = false;
  }
}

function connected(name) {
  const mine = ++generation;
  setState('connected', `connected as ${name}`);
  $('who').textContent = `The server knows this key as ${name}.`;
  $('enrol').hidden = true;
  $('enrol-by-hand').hidden = true;
  problem(undefined);
  $('text').disabled = false;
  $('send').disabled = false;
  $('messages').replaceChildren(); // the room replays its recent messages on every subscribe
  const lost = (err) => {
    if (mine !== generation) return;
    generation++;
    for (const sub of live) sub.unsubscribe();
    live = [];
    $('text').disabled = true;
    $('send').disabled = true;
    setState('lost', `connection lost: ${described(err)}`);
    setTimeout(() => connect(0), RETRY_MS);
  };
  live = [
    ticker.prices().subscribe({ next: showPrices, error: lost, complete: () => lost('the ticker stopped') }),
    chat.messages().subscribe({ next: showMessage, error: lost, complete: () => lost('the room closed') }),
  ];
}

function showPrices(quotes) {
  const body = $('prices');
  for (const q of quotes) {
    let row = body.querySelector(`tr[data-symbol="${q.symbol}"]`);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.symbol = q.symbol;
      row.append(document.createElement('td'), document.createElement('td'), document.createElement('td'));
      row.cells[0].textContent = q.symbol;
      body.append(row);
    }
    row.cells[1].textContent = q.price.toFixed(2);
    row.cells[2].textContent = `${q.change >= 0 ? '+' : ''}${q.change.toFixed(2)}`;
    row.cells[2].className = q.change > 0 ? 'up' : q.change < 0 ? 'down' : '';
  }
  updates++;
  $('ticks').textContent = `${updates} update${updates === 1 ? '' : 's'}`;
}

function showMessage(m) {
  const item = document.createElement('li');
  const from = document.createElement('b');
  from.textContent = m.from;
  const at = document.createElement('time');
  at.textContent = new Date(m.at).toLocaleTimeString();
  item.append(from, `: ${m.text}`, at);
  $('messages').append(item);
  item.scrollIntoView({ block: 'nearest' });
}

async function post(text) {
  if (text.trim() === '') return;
  problem(undefined);
  try {
    await chat.post(text);
    $('text').value = '';
  } catch (err) {
    problem(`not sent: ${described(err)}: ${err.message}`);
  }
}

main().catch((err) => {
  setState('failed', 'failed to start');
  problem(String(err?.stack ?? err));
});
