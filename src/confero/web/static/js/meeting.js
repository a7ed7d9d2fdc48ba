// The meeting toolbar (F-WB2), the leave menu (F-EN1..F-EN3), the settings dialog (devices,
// and Reset room for moderators, F-EN4), and the keyboard shortcuts m / v / h.

import { $, isTyping, label } from './dom.js';
import { t } from './i18n.js';
import { changed, me, on, state } from './state.js';

/**
 * @param {object} actions
 * @param {() => void} actions.toggleMic
 * @param {() => void} actions.toggleCamera
 * @param {() => void} actions.toggleScreen
 * @param {() => void} actions.toggleHand
 * @param {() => void} actions.leave
 * @param {() => void} actions.endAll
 * @param {() => void} actions.endAllButMe
 * @param {() => void} actions.resetRoom
 * @param {() => void} actions.openSettings
 */
export function setupToolbar(actions) {
  const click = (id, fn) => $(id).addEventListener('click', fn);
  click('#mic-toggle', actions.toggleMic);
  click('#camera-toggle', actions.toggleCamera);
  click('#screen-toggle', actions.toggleScreen);
  click('#hand-toggle', actions.toggleHand);
  click('#view-toggle', () => {
    state.speakerView = !state.speakerView;
    changed('view');
  });
  click('#fullscreen', toggleFullscreen);
  click('#sidebar-toggle', () => setSidebar($('#meeting').classList.contains('sidebar-hidden')));
  click('#settings', () => {
    actions.openSettings();
    $('#settings-dialog').showModal();
  });
  click('#reset-room', () => {
    $('#settings-dialog').close();
    actions.resetRoom();
  });

  // Seed 000: hovering (or focusing) the red leave button shows the three options; a
  // click on it leaves. A long press (contextmenu) shows them on a touch screen.
  const menu = $('#leave-options');
  const group = $('.leave-group');
  let closing = null;
  const keepOpen = () => {
    clearTimeout(closing);
    if (menu.hidden) setMenu(true, false);
  };
  group.addEventListener('pointerenter', (event) => {
    if (event.pointerType === 'mouse') keepOpen();
  });
  group.addEventListener('pointerleave', (event) => {
    if (event.pointerType === 'mouse') closing = setTimeout(() => setMenu(false), 300);
  });
  group.addEventListener('focusin', keepOpen);
  group.addEventListener('focusout', (event) => {
    if (!group.contains(event.relatedTarget)) setMenu(false);
  });
  $('#leave-menu').addEventListener('contextmenu', (event) => {
    event.preventDefault();
    keepOpen();
  });
  click('#leave-menu', (event) => {
    event.stopPropagation();
    setMenu(false);
    actions.leave();
  });
  click('#leave', () => {
    setMenu(false);
    actions.leave();
  });
  click('#end-all', () => {
    setMenu(false);
    actions.endAll();
  });
  click('#end-all-but-me', () => {
    setMenu(false);
    actions.endAllButMe();
  });
  document.addEventListener('click', (event) => {
    if (!menu.hidden && !menu.contains(event.target)) setMenu(false);
  });

  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !menu.hidden) {
      setMenu(false);
      $('#leave-menu').focus();
      return;
    }
    if (state.view !== 'meeting' || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target) || document.querySelector('dialog[open]')) return;
    const key = event.key.toLowerCase();
    if (key === 'm') actions.toggleMic();
    else if (key === 'v') actions.toggleCamera();
    else if (key === 'h') actions.toggleHand();
    else return;
    event.preventDefault();
  });
  document.addEventListener('fullscreenchange', renderToolbar);

  if (!navigator.mediaDevices?.getDisplayMedia) $('#screen-toggle').hidden = true;
  if (!document.fullscreenEnabled) $('#fullscreen').hidden = true;
  setSidebar(window.innerWidth >= 900);

  for (const topic of ['participants', 'me', 'local', 'view']) on(topic, renderToolbar);
}

function setMenu(open, focus = true) {
  $('#leave-options').hidden = !open;
  $('#leave-menu').setAttribute('aria-expanded', String(open));
  if (open && focus) $('#leave').focus();
}

export function setSidebar(open) {
  $('#meeting').classList.toggle('sidebar-hidden', !open);
  $('#sidebar-toggle').setAttribute('aria-pressed', String(open));
  if (open) $('#chat-unread').hidden = true;
}

export function sidebarOpen() {
  return !$('#meeting').classList.contains('sidebar-hidden');
}

function toggleFullscreen() {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  // The whole page, so notices and dialogs stay visible.
  else document.documentElement.requestFullscreen?.().catch(() => {});
}

function toggle(id, off, text) {
  const button = $(id);
  button.classList.toggle('off', off);
  label(button, text);
}

export function renderToolbar() {
  const self = me();
  const muted = self ? Boolean(self.muted) : true;
  toggle('#mic-toggle', muted, muted ? t('mic_unmute') : t('mic_mute'));

  toggle('#camera-toggle', !state.camera, state.camera ? t('camera_off') : t('camera_on'));

  toggle('#screen-toggle', false, state.screen ? t('screen_stop') : t('screen_start'));
  $('#screen-toggle').classList.toggle('active', state.screen);

  const hand = Boolean(self?.hand_raised);
  toggle('#hand-toggle', false, hand ? t('hand_lower') : t('hand_raise'));
  $('#hand-toggle').classList.toggle('active', hand);

  toggle('#view-toggle', state.speakerView, state.speakerView ? t('view_tile') : t('view_speaker'));

  const full = Boolean(document.fullscreenElement);
  toggle('#fullscreen', full, full ? t('fullscreen_exit') : t('fullscreen'));
}
