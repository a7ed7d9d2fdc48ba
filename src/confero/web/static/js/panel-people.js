// People (issue 11, F-WB3): the account's contacts with a presence dot, a search that
// filters them as one types and, from two letters on, finds other accounts of the server
// to add; a video call button only while the contact is online or in a meeting (busy);
// the same call and Remove from a context menu on right-click or a long press, as in the
// seed. The list comes from GET /api/v1/contacts, then follows the people socket.

import { confirmDialog } from './dialogs.js';
import { $, el, icon, initials, label } from './dom.js';
import { t } from './i18n.js';
import { api } from './panel-api.js';
import { problemText, say, showError } from './panel-common.js';
import { callContact, canCall, peopleSocket } from './people.js';

const LONG_PRESS_MS = 600;
/** A finger that moves this far (px) scrolls; it does not press. */
const LONG_PRESS_SLOP = 10;
const SEARCH_DELAY_MS = 250;
const MIN_QUERY = 2;

const list = $('#contacts');
const search = $('#contact-search');
const menu = $('#contact-menu');

/** account id -> CONTACT, as the server last said. */
let contacts = new Map();
let loaded = false;
let directory = [];
let directoryQuery = '';
let searchTimer = null;
/** The contact the context menu is open for. */
let menuContact = null;

const PRESENCE_TEXT = { online: 'people_online', busy: 'people_busy', offline: 'people_offline' };

function presenceText(presence) {
  return t(PRESENCE_TEXT[presence] || PRESENCE_TEXT.offline);
}

function query() {
  return search.value.replace(/\s+/g, ' ').trim();
}

function matches(contact, q) {
  if (!q) return true;
  const needle = q.toLowerCase();
  return [contact.display_name, contact.email].some((v) => String(v || '').toLowerCase().includes(needle));
}

function byName(a, b) {
  const an = a.display_name || a.email || '';
  const bn = b.display_name || b.email || '';
  return an.localeCompare(bn, undefined, { sensitivity: 'base' });
}

function presenceDot(presence) {
  const value = ['online', 'busy'].includes(presence) ? presence : 'offline';
  const text = presenceText(value);
  return el('span', { class: 'presence', dataset: { presence: value }, role: 'img', 'aria-label': text, title: text });
}

function row(contact) {
  const name = contact.display_name || contact.email;
  const who = el(
    'span',
    { class: 'contact-who' },
    el('span', { class: 'contact-name' }, name),
    contact.source === 'room' ? el('span', { class: 'tag' }, t('panel_people_from_room')) : null,
    el('span', { class: 'contact-email hint' }, contact.email || ''),
    el('span', { class: 'contact-state hint' }, presenceText(contact.presence)),
  );
  const actions = el('span', { class: 'contact-actions' });
  if (canCall(contact.presence)) {
    const call = el('button', { type: 'button', class: 'button small primary contact-call' }, icon('video'), ' ', t('people_call'));
    label(call, t('people_call_label', { name }));
    actions.append(call);
  }
  if (contact.source === 'added') {
    const remove = el('button', { type: 'button', class: 'icon-button contact-remove' }, icon('user-x'));
    label(remove, t('people_remove_label', { name }));
    actions.append(remove);
  }
  return el(
    'li',
    { class: 'contact', dataset: { accountId: contact.account_id, presence: contact.presence, source: contact.source } },
    el('span', { class: 'avatar small', 'aria-hidden': 'true' }, initials(name), presenceDot(contact.presence)),
    who,
    actions,
  );
}

function render() {
  $('#contacts-loading').hidden = loaded;
  const q = query();
  const all = [...contacts.values()].sort(byName);
  const shown = all.filter((c) => matches(c, q));
  $('#contacts-empty').hidden = !loaded || all.length > 0;
  const noMatch = $('#contacts-no-match');
  noMatch.hidden = !loaded || all.length === 0 || shown.length > 0;
  noMatch.textContent = t('panel_people_no_match', { query: q });
  // Rows are rebuilt only when what they show changed, so focus survives updates.
  const old = new Map([...list.children].map((li) => [li.dataset.accountId, li]));
  let previous = null;
  for (const contact of shown) {
    const key = JSON.stringify([contact.display_name, contact.email, contact.source, contact.presence]);
    let node = old.get(contact.account_id);
    old.delete(contact.account_id);
    if (!node || node.dataset.key !== key) {
      const fresh = row(contact);
      fresh.dataset.key = key;
      if (node) node.replaceWith(fresh);
      node = fresh;
    }
    const want = previous ? previous.nextElementSibling : list.firstElementChild;
    if (want !== node) list.insertBefore(node, want);
    previous = node;
  }
  for (const node of old.values()) node.remove();
  renderDirectory();
  if (menuContact && !menu.hidden) {
    const fresh = contacts.get(menuContact.account_id);
    if (fresh) fillMenu(fresh);
    else closeMenu();
  }
}

function setContacts(items) {
  contacts = new Map((items || []).map((c) => [c.account_id, { ...c }]));
  loaded = true;
  render();
}

async function load() {
  const before = peopleSocket.contactsVersion;
  try {
    const items = await api('GET', '/api/v1/contacts');
    // The socket sent a list meanwhile: it is as new as this answer or newer.
    if (peopleSocket.contactsVersion === before) setContacts(items);
    showError('');
  } catch (error) {
    showError(problemText(error));
  }
}

// ------------------------------------------------------------------ the directory
function renderDirectory() {
  const box = $('#directory');
  const q = query();
  if (q.length < MIN_QUERY || directoryQuery !== q) {
    box.hidden = q.length < MIN_QUERY;
    if (q.length < MIN_QUERY) $('#directory-results').replaceChildren();
    return;
  }
  const others = directory.filter((d) => !contacts.has(d.account_id) || contacts.get(d.account_id).source !== 'added');
  const results = $('#directory-results');
  results.replaceChildren(
    ...others.map((person) => {
      const name = person.display_name || person.email;
      const add = el('button', { type: 'button', class: 'button small contact-add' }, icon('user-plus'), ' ', t('people_add'));
      label(add, t('people_add_label', { name }));
      return el(
        'li',
        { class: 'directory-entry', dataset: { accountId: person.account_id } },
        el('span', { class: 'avatar small', 'aria-hidden': 'true' }, initials(name)),
        el(
          'span',
          { class: 'contact-who' },
          el('span', { class: 'contact-name' }, name),
          el('span', { class: 'contact-email hint' }, person.email || ''),
        ),
        el('span', { class: 'contact-actions' }, add),
      );
    }),
  );
  const empty = $('#directory-empty');
  empty.hidden = others.length > 0;
  empty.textContent = t('panel_people_directory_empty', { query: q });
  box.hidden = false;
}

async function findInDirectory(q) {
  try {
    const found = await api('GET', `/api/v1/directory?q=${encodeURIComponent(q)}`);
    if (q !== query()) return; // typed on meanwhile
    directory = Array.isArray(found) ? found : [];
    directoryQuery = q;
    renderDirectory();
  } catch (error) {
    showError(problemText(error));
  }
}

search.addEventListener('input', () => {
  render();
  clearTimeout(searchTimer);
  const q = query();
  if (q.length >= MIN_QUERY) searchTimer = setTimeout(() => findInDirectory(q), SEARCH_DELAY_MS);
});

async function add(accountId) {
  const person = directory.find((d) => d.account_id === accountId);
  try {
    const contact = await api('POST', '/api/v1/contacts', { account_id: accountId });
    if (contact && contact.account_id) contacts.set(contact.account_id, contact);
    render();
    say(t('panel_people_added', { name: (contact || person || {}).display_name || '' }));
    showError('');
  } catch (error) {
    showError(problemText(error));
  }
}

$('#directory-results').addEventListener('click', (event) => {
  const button = event.target.closest('.contact-add');
  const item = event.target.closest('.directory-entry');
  if (!button || !item) return;
  button.disabled = true;
  add(item.dataset.accountId).finally(() => {
    button.disabled = false;
  });
});

// ------------------------------------------------------------------ call and remove
function call(contact) {
  if (!canCall(contact.presence)) return;
  callContact(contact);
}

async function remove(contact) {
  const name = contact.display_name || contact.email;
  const ok = await confirmDialog(t('panel_people_remove_confirm', { name }), t('people_remove'));
  if (!ok) return;
  try {
    await api('DELETE', `/api/v1/contacts/${encodeURIComponent(contact.account_id)}`);
    contacts.delete(contact.account_id);
    render();
    say(t('panel_people_removed', { name }));
    showError('');
    // Still a room co-member? Then it stays, as a room contact: ask the server.
    load();
  } catch (error) {
    showError(problemText(error));
  }
}

function contactOf(node) {
  const item = node instanceof Element ? node.closest('.contact') : null;
  return item ? contacts.get(item.dataset.accountId) || null : null;
}

list.addEventListener('click', (event) => {
  const contact = contactOf(event.target);
  if (!contact) return;
  if (event.target.closest('.contact-call')) call(contact);
  else if (event.target.closest('.contact-remove')) remove(contact);
});

// ------------------------------------------------------------------ the context menu
function fillMenu(contact) {
  menuContact = contact;
  const name = contact.display_name || contact.email;
  $('#contact-menu-name').textContent = `${name} · ${presenceText(contact.presence)}`;
  menu.setAttribute('aria-label', t('panel_people_actions', { name }));
  $('#contact-menu-call').hidden = !canCall(contact.presence);
  $('#contact-menu-remove').hidden = contact.source !== 'added';
}

function openMenu(contact, x, y) {
  fillMenu(contact);
  menu.hidden = false;
  // Inside the window, also near its right and bottom edges.
  const { width, height } = menu.getBoundingClientRect();
  const left = Math.max(4, Math.min(x, window.innerWidth - width - 4));
  const top = Math.max(4, Math.min(y, window.innerHeight - height - 4));
  menu.style.left = `${left}px`;
  menu.style.top = `${top}px`;
  const first = [...menu.querySelectorAll('button')].find((b) => !b.hidden);
  first?.focus();
}

function closeMenu() {
  if (menu.hidden) return;
  menu.hidden = true;
  menuContact = null;
}

list.addEventListener('contextmenu', (event) => {
  const contact = contactOf(event.target);
  if (!contact) return;
  event.preventDefault();
  let { clientX: x, clientY: y } = event;
  if (!x && !y) {
    // From the keyboard (the menu key): at the row.
    const box = event.target.closest('.contact').getBoundingClientRect();
    x = box.left + 16;
    y = box.bottom;
  }
  openMenu(contact, x, y);
});

// A long press on a touch screen opens the same menu (seed 002: the contact menu).
let press = null;
list.addEventListener(
  'touchstart',
  (event) => {
    const contact = contactOf(event.target);
    if (!contact || event.touches.length !== 1) return;
    const touch = event.touches[0];
    clearTimeout(press?.timer);
    press = {
      x: touch.clientX,
      y: touch.clientY,
      fired: false,
      timer: setTimeout(() => {
        press.fired = true;
        openMenu(contact, press.x, press.y);
      }, LONG_PRESS_MS),
    };
  },
  { passive: true },
);
list.addEventListener(
  'touchmove',
  (event) => {
    if (!press) return;
    const touch = event.touches[0];
    if (Math.hypot(touch.clientX - press.x, touch.clientY - press.y) > LONG_PRESS_SLOP) {
      clearTimeout(press.timer);
      press = null;
    }
  },
  { passive: true },
);
for (const type of ['touchend', 'touchcancel']) {
  list.addEventListener(type, (event) => {
    if (!press) return;
    clearTimeout(press.timer);
    // The press opened the menu: the finger's lifting is no click on the row.
    if (press.fired && event.cancelable) event.preventDefault();
    press = null;
  });
}

$('#contact-menu-call').addEventListener('click', () => {
  const contact = menuContact;
  closeMenu();
  if (contact) call(contact);
});
$('#contact-menu-remove').addEventListener('click', () => {
  const contact = menuContact;
  closeMenu();
  if (contact) remove(contact);
});
document.addEventListener('pointerdown', (event) => {
  if (!menu.hidden && !menu.contains(event.target)) closeMenu();
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') closeMenu();
});
window.addEventListener('resize', closeMenu);
window.addEventListener('scroll', closeMenu, { passive: true });

// ------------------------------------------------------------------ live updates
peopleSocket.addEventListener('contacts', (event) => setContacts(event.detail));
peopleSocket.addEventListener('presence', (event) => {
  const { account_id: id, presence } = event.detail;
  const contact = contacts.get(id);
  if (!contact) return;
  contact.presence = presence;
  render();
});

render();
if (peopleSocket.contactsVersion > 0) setContacts([...peopleSocket.contacts.values()]);
load();
