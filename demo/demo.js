// The Gatehouse demo: plain DOM code over the client library the gateway serves at /client.js.
import { createClient } from '/client.js';

const $ = (id) => document.getElementById(id);
const client = createClient();
// For the browser console (and the browser tests): try gatehouse.state.
window.gatehouse = client;

let renewals = 0;
let lastClose = '';
let endReason = '';
let chat;
let lobby;

function log(text) {
  const li = document.createElement('li');
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  li.append(time, text);
  $('events').prepend(li);
}

function flash(el) {
  el.classList.remove('flash');
  void el.offsetWidth;
  el.classList.add('flash');
}

function render() {
  const { authenticated, claims } = client.state;
  const status = $('session-status');
  if (authenticated) {
    status.dataset.state = 'authenticated';
    status.textContent = `Logged in as ${claims.name ?? claims.sub} (sub ${claims.sub})`;
  } else {
    status.dataset.state = endReason ? 'ended' : 'anonymous';
    status.textContent = endReason ? 'Logged out.' : 'Not logged in.';
  }
  $('claims').textContent = claims ? JSON.stringify(claims, null, 2) : '—';
  $('renewal-count').textContent = String(renewals);
  $('session-end').textContent = [endReason, lastClose].filter(Boolean).join(' · ') || '—';
  for (const id of ['logout', 'logout-everywhere', 'chat-input', 'send']) $(id).disabled = !authenticated;
  $('chat-status').textContent = authenticated ? 'You are in the lobby.' : 'Log in to join the chat.';
}

function tick() {
  const left = client.state.expiresIn;
  $('countdown').textContent = left === null ? '—' : `${Math.floor(left / 60)}:${String(Math.floor(left % 60)).padStart(2, '0')}`;
}

async function joinChat() {
  if (chat) return;
  chat = client.subscribe('chat:lobby');
  const current = chat;
  try {
    for await (const message of current) {
      // Anyone in the lobby can publish anything: one message that cannot be shown must not end the chat.
      try {
        showMessage(message);
      } catch {
        log('chat: a message could not be shown');
      }
    }
  } catch (err) {
    log(`chat: ${err.name}: ${err.message}`);
  }
  if (chat === current) chat = undefined;
}

/** Longest piece of a chat message shown, in characters. */
const MAX_SHOWN = 500;

function showMessage(message) {
  const li = document.createElement('li');
  const from = document.createElement('b');
  from.textContent = asText(message?.from, '?');
  li.append(from, asText(message?.text, ''));
  $('messages').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

/**
 * Text for whatever a publisher put in a field, never throwing: String() calls the value's own toString, which a
 * message like {"toString": 1} turns into a TypeError.
 */
function asText(value, fallback) {
  if (value === undefined || value === null) return fallback;
  let text;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? fallback;
    } catch {
      text = fallback;
    }
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

function leaveChat() {
  chat?.unsubscribe();
  chat = undefined;
  lobby?.close();
  lobby = undefined;
  renderMembers(undefined);
}

/** Who is in the lobby, live: one entry per user, however many tabs or devices it has open. */
function watchLobby() {
  if (lobby) return;
  const current = (lobby = client.presence('chat:lobby'));
  const show = () => {
    if (lobby === current) renderMembers(current);
  };
  current.on('sync', show);
  current.on('update', show);
  current.on('occupancy', show);
  current.on('join', ({ member }) => {
    show();
    // This tab's own join may come after the first list: it is no news here.
    if (member.sub !== client.state.claims?.sub) presenceNote(`${memberName(member)} joined`);
  });
  current.on('leave', ({ member, reason }) => {
    show();
    presenceNote(`${memberName(member)} left (${reason})`);
  });
  void current.ended.then((err) => {
    if (err) log(`presence: ${err.name}: ${err.message}`);
    if (lobby === current) {
      lobby = undefined;
      renderMembers(undefined);
    }
  });
}

/** The name a member's verified `info` claim gives, else its sub. */
function memberName(member) {
  return asText(member.info?.name, member.sub);
}

function renderMembers(list) {
  const members = $('members');
  members.replaceChildren();
  $('member-count').textContent = list ? (list.mode === 'occupancy' ? `(${list.count}, counts only)` : `(${list.count})`) : '';
  if (!list) return;
  const me = client.state.claims?.sub;
  for (const member of list.list) {
    const li = document.createElement('li');
    li.dataset.sub = member.sub;
    li.textContent = memberName(member) + (member.sub === me ? ' (you)' : '');
    if (member.sub === me) li.classList.add('you');
    members.append(li);
  }
}

/** Keeps the last few joins and leaves under the member list. */
function presenceNote(text) {
  const li = document.createElement('li');
  li.textContent = text;
  const notes = $('presence-events');
  notes.prepend(li);
  while (notes.children.length > 5) notes.lastElementChild.remove();
  log(`presence: ${text}`);
}

client.on('connection', (event) => {
  const pill = $('connection');
  pill.dataset.state = event.state;
  if (event.state === 'closed') {
    pill.textContent = `closed: ${event.name} (${event.code})`;
    lastClose = `closed with ${event.name} (${event.code})${event.reason ? `: ${event.reason}` : ''}`;
    log(`connection closed: ${event.name} (${event.code}) ${event.reason} → ${event.action}`);
  } else {
    pill.textContent = event.state === 'open' ? 'connected' : 'connecting…';
    log(`connection ${event.state}`);
  }
  render();
});

client.on('authenticated', ({ claims }) => {
  renewals = 0;
  endReason = '';
  lastClose = '';
  log(`authenticated as ${claims.sub}`);
  render();
  watchLobby();
  void joinChat();
});

client.on('renewed', ({ claims }) => {
  renewals += 1;
  log(`token renewed: new jti ${claims.jti}, ${Math.round(client.state.expiresIn ?? 0)} s to go`);
  render();
  flash($('countdown'));
});

client.on('expiring', ({ expiresIn }) => log(`token expiring in ${Math.round(expiresIn)} s`));

client.on('deauthenticated', ({ reason }) => {
  endReason = reason;
  log(`deauthenticated: ${reason}`);
  leaveChat();
  render();
});

client.on('error', (err) => log(`error: ${err.name}: ${err.message}`));

async function login(username, password) {
  $('login-error').textContent = '';
  try {
    await client.login(username, password);
  } catch (err) {
    $('login-error').textContent = `${err.name}: ${err.message}${err.retryAfter ? ` (retry in ${err.retryAfter} s)` : ''}`;
  }
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void login($('username').value, $('password').value);
});
for (const button of document.querySelectorAll('button.quick')) {
  button.addEventListener('click', () => {
    $('username').value = button.dataset.user;
    $('password').value = button.dataset.user;
    void login(button.dataset.user, button.dataset.user);
  });
}

$('logout').addEventListener('click', () => client.logout().catch((err) => log(`logout: ${err.name}: ${err.message}`)));
$('logout-everywhere').addEventListener('click', () => client.logout({ everywhere: true }).catch((err) => log(`logout: ${err.name}: ${err.message}`)));

$('chat-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('chat-input');
  const text = input.value.trim();
  if (!text) return;
  const { claims } = client.state;
  try {
    await client.publish('chat:lobby', { from: claims?.name ?? claims?.sub ?? 'anonymous', text });
    input.value = '';
  } catch (err) {
    log(`publish: ${err.name}: ${err.message}`);
  }
});

function showRefusal(text) {
  $('refusal').textContent = text;
  flash($('refusal'));
}

$('try-staff').addEventListener('click', async () => {
  const sub = client.subscribe('staff:room');
  try {
    await sub.ready;
    showRefusal('Allowed: your token grants staff:*. Log in as bob to see the refusal.');
    sub.unsubscribe();
  } catch (err) {
    showRefusal(`${err.name}: ${err.message}`);
  }
});

$('try-news').addEventListener('click', async () => {
  try {
    await client.publish('news', { text: 'hello' });
    showRefusal('Allowed.');
  } catch (err) {
    showRefusal(`${err.name}: ${err.message}`);
  }
});

let staffRoom;

function grantsStatus(text) {
  $('grants-status').textContent = text;
  flash($('grants-status'));
}

/** Subscribes to staff:room if the current grants allow it, and says what happened. */
async function tryStaffRoom() {
  if (staffRoom) return;
  const sub = client.subscribe('staff:room');
  staffRoom = sub;
  try {
    await sub.ready;
  } catch (err) {
    staffRoom = undefined;
    // Right after a kick-out, its reason says more than the refusal of the retry.
    if (!$('grants-status').textContent.startsWith('Left')) grantsStatus(`staff:room: ${err.name}`);
    return;
  }
  grantsStatus('In staff:room: granted live.');
  log('subscribed to staff:room');
  const err = await sub.ended;
  if (staffRoom === sub) staffRoom = undefined;
  if (err) {
    grantsStatus(`Left staff:room: ${err.reason ?? err.name}.`);
    log(`kicked out of staff:room: ${err.reason ?? err.message}`);
  }
}

client.on('grantsChanged', ({ version }) => {
  log(`grants changed by the backend (version ${version})`);
  void tryStaffRoom();
});

async function setBobStaff(staff) {
  try {
    const res = await fetch('/demo/grants', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'bob', staff }) });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error?.message ?? res.statusText);
    const sockets = Object.values(body.applied ?? {}).reduce((a, b) => a + b, 0);
    log(`bob is ${staff ? 'staff' : 'a guest'} now (version ${body.version}, applied to ${sockets} of his sockets)`);
  } catch (err) {
    log(`grants: ${err.message}`);
  }
}

$('make-staff').addEventListener('click', () => void setBobStaff(true));
$('make-guest').addEventListener('click', () => void setBobStaff(false));

render();
setInterval(tick, 250);
